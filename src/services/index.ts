/**
 * The use cases, one service each, built over the ports of whichever mode
 * runs them. The HTTP API (src/http) only parses, authorises, calls one of
 * these and presents the answer; tests call them directly.
 */
import { type UserHasher, userHasher } from "../domain/user-hash.ts";
import type { AdmissionStore } from "../ports/admission.ts";
import type { DeliveryLedger } from "../ports/delivery.ts";
import type { Ledger } from "../ports/ledger.ts";
import type { LifecycleLedger } from "../ports/lifecycle-ledger.ts";
import type { Notifier } from "../ports/notifier.ts";
import type { WaitingRoomStore } from "../ports/waiting-room.ts";
import { CampaignService } from "./campaigns.ts";
import { ClaimService } from "./claims.ts";
import { DeliveryService } from "./deliveries.ts";
import { ErasureService } from "./erasure.ts";
import { ExportService } from "./export.ts";
import { LifecycleService } from "./lifecycle.ts";
import type { TaskService } from "./tasks/task-service.ts";
import { WaitingRoomService } from "./waiting-room.ts";

export interface Services {
  campaigns: CampaignService;
  claims: ClaimService;
  lifecycle: LifecycleService;
  erasure: ErasureService;
  deliveries: DeliveryService;
  exports: ExportService;
  /** The task pipeline (POST /v1/tasks ...); its routes exist only when it is given. */
  tasks?: TaskService | undefined;
  /** Waiting rooms (docs/api.md "Waiting room"); their routes exist only when it is given. */
  waitingRoom?: WaitingRoomService | undefined;
}

export interface ServicePorts {
  admission: AdmissionStore;
  ledger: Ledger;
  notifier: Notifier;
  lifecycle: LifecycleLedger;
  deliveries: DeliveryLedger;
  tasks?: TaskService | undefined;
  /** The mode's waiting rooms; without it, joins and the draw do not exist (direct claims on a room's campaign still answer 403 queue). */
  waitingRoom?: WaitingRoomStore | undefined;
}

export interface ServiceSettings {
  /** How userIds appear in the audit trail: keyed by the admin token (userHashKey), the same in every process. */
  userHashKey: Buffer;
  /** How long a request may wait on a dependency (REQUEST_TIMEOUT_MS): bounds erasure's wait. */
  requestTimeoutMs: number;
  /** WEBHOOK_ALLOW_PRIVATE: webhook URLs may point at loopback, private and link-local addresses (default false). */
  webhookAllowPrivate?: boolean | undefined;
  now?: (() => number) | undefined;
  /** HOLD_MIN_SECONDS: the shortest holdSeconds a new campaign may ask for (default 30). */
  holdMinSeconds?: number | undefined;
  /** How often watched waiting lines are looked at (1 s by contract: at most one event a second; tests shorten it). */
  lineWatchIntervalMs?: number | undefined;
}

export function createServices(ports: ServicePorts, settings: ServiceSettings): Services {
  const { admission, ledger, notifier } = ports;
  const { now } = settings;
  const hashUser: UserHasher = userHasher(settings.userHashKey);
  const campaigns = new CampaignService({ admission, ledger, now, holdMinSeconds: settings.holdMinSeconds });
  return {
    campaigns,
    claims: new ClaimService({ admission, ledger, notifier }),
    lifecycle: new LifecycleService({ admission, lifecycle: ports.lifecycle, campaigns }),
    erasure: new ErasureService({
      admission,
      lifecycle: ports.lifecycle,
      notifier,
      hashUser,
      waitMs: settings.requestTimeoutMs,
      now,
    }),
    deliveries: new DeliveryService({
      deliveries: ports.deliveries,
      campaigns,
      now,
      allowPrivateTargets: settings.webhookAllowPrivate,
    }),
    exports: new ExportService({ ledger, campaigns }),
    tasks: ports.tasks,
    waitingRoom:
      ports.waitingRoom &&
      new WaitingRoomService({
        store: ports.waitingRoom,
        campaigns,
        now,
        watchIntervalMs: settings.lineWatchIntervalMs,
      }),
  };
}
