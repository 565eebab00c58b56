/** Ticks older than the ones listed, counted but not listed (a downtime or freeze longer than the cap). */
export interface DroppedTicks {
  readonly count: number;
  readonly firstAt: number;
  readonly lastAt: number;
}

/** The reason suffix that accounts for dropped ticks, so every missed tick has a recorded reason. */
export function droppedNote(dropped: DroppedTicks | null | undefined): string {
  if (!dropped) return '';
  const from = new Date(dropped.firstAt).toISOString();
  const to = new Date(dropped.lastAt).toISOString();
  return `; ${dropped.count} earlier ticks from ${from} to ${to} were missed too and are not recorded one by one`;
}
