// How long operations (import, reindex, verify, cleanup) report progress to whoever draws it.

/**
 * Called often (the drawer throttles): `done` of `total` units of the current `phase`
 * ("preparing", "writing files", ...). A phase may start again from 0 with another total.
 */
export type OnProgress = (done: number, total: number, phase?: string) => void;
