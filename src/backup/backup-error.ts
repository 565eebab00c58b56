import { AutoloopError } from '../core/errors.ts';

/** A backup or a restore that could not be made; the message says which file and how to fix it when known. */
export class BackupError extends AutoloopError {
  override name = 'BackupError';
}
