// The typed messages between the extension host (RefinerClient) and the refiner process, over IPC.
import type { HostOptions, RoleConfig } from './host';
import type { RefineEvent, RefineRequest } from './loop';

export interface WorkerConfig {
  host: Omit<HostOptions, 'log'>;
  roles: { leader?: RoleConfig | null; follower: RoleConfig };
}

export type ToWorker =
  | { type: 'configure'; config: WorkerConfig }
  | { type: 'set-adapter'; adapter: string | null }
  | { type: 'refine'; id: number; request: RefineRequest }
  | { type: 'cancel'; id: number }
  | { type: 'unload' };

export interface SerializedError {
  name: string;
  message: string;
}

export type FromWorker =
  | { type: 'event'; id: number; event: RefineEvent }
  | { type: 'error'; id: number; error: SerializedError }
  | { type: 'end'; id: number }
  | { type: 'log'; message: string };
