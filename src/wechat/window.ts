// The customer-service window (contract §10): WeChat delivers customer-service text only within 48
// hours after the employee last interacted with the Official Account. The policy sends text only
// within 47: an hour's margin for clocks, queues and a push that takes its time.

export const WINDOW_MS = 48 * 3600_000;
export const SAFE_WINDOW_MS = 47 * 3600_000;

/** Whether `lastInteractionAt` lies within `span` before `now`; never interacted: closed. */
export function withinWindow(lastInteractionAt: Date | null, now: number, span = WINDOW_MS): boolean {
  return lastInteractionAt !== null && now - lastInteractionAt.getTime() < span;
}
