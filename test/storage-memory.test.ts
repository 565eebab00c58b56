import { MemoryStore } from '../src/storage/memory/memory-store.ts';
import { storageContract } from './storage-contract.ts';

storageContract('MemoryStore', async () => new MemoryStore());
