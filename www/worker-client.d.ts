// Types of worker-client.js: the page's engine, one worker per page, spoken to with
// promises (README: "The page's loader: a worker and its client"). Hand-written; the
// engine's own shapes come from the wasm package's declarations (pkg/, beside www/).

import type {
  FineTuning, GalleryEntry, GalleryMatch, Item, Network, Options, OptionsUpdate, SetAside,
  Backend as WantedBackend,
} from '../pkg/siamese_digits.js';

export type { FineTuning, GalleryEntry, GalleryMatch, Item, Network, Options, OptionsUpdate, SetAside };

/** What the page may ask for: `'auto'`, `'webgpu'` or `'cpu'`. */
export type Backend = WantedBackend;

/** What really runs. */
export type RunningBackend = 'webgpu' | 'cpu';

/**
 * A message for the status line (i18n.js: `msg()`, `failure()`): its words are looked
 * up by `key` when shown; `recovered` marks one that reports a failure (false: the
 * element cannot go on).
 */
export interface Message {
  key: string;
  params: Record<string, unknown>;
  recovered?: boolean;
}

/** The engine's info: `client.ready`'s value, `client.info`, and a snapshot's `info`. */
export interface EngineInfo {
  backend: RunningBackend;
  /** Why the engine is on the CPU although WebGPU was wanted (or still loading); null when it is not. */
  reason: string | null;
  /** The calibrated "same digit" distance of the network answering. */
  threshold: number;
  /** The backend asked for. */
  wanted: Backend;
  /** Which shipped weights this build carries (8 hex digits). */
  release: string;
  /** The fine-tuning options' defaults and bounds. */
  fineTuning: FineTuning;
  network: Network;
  embeddingSize: number;
  /** This build's version (Cargo.toml's). */
  version: string;
}

/** The `backend` event's detail: the info after a move, new weights or another network; `note` says why the GPU was left. */
export interface BackendChange extends EngineInfo {
  note?: Message;
}

/** The `progress` event's detail: how much of a download (`what`: the model, the WebGPU engine, the seed network) has arrived. */
export interface Progress {
  event: 'progress';
  what: string;
  fraction: number;
}

/** The engine's session as the client keeps it (a restarted worker starts from its `bytes`). */
export interface Snapshot {
  bytes: Uint8Array;
  /** The training set, in the order added. */
  items: Item[];
  /** The gallery's references, in the order added. */
  gallery: GalleryEntry[];
  /** Fine-tuning steps taken on these weights. */
  steps: number;
  options: Options;
  revision: number;
  info: EngineInfo;
}

/**
 * A drawing as `Pad.transferable()` gives it: pen strokes (`xy` holds Float32 x0, y0,
 * x1, y1, …; `ends` Uint32 point counts up to each stroke's end) or RGBA pixels. The
 * buffers are transferred to the worker, not copied.
 */
export type Drawing =
  | { xy: ArrayBuffer; ends: ArrayBuffer }
  | { rgba: ArrayBuffer; width: number; height: number };

/** One value per pad. */
export interface PerPad<T> {
  a: T;
  b: T;
}

/** What `compare()` answers for both pads; null where a pad is empty (or the map is not fitted yet). */
export interface CompareResult {
  /** Null unless both pads have ink. */
  distance: number | null;
  /** The 28×28 image (784 values) the network sees of each pad. */
  images: PerPad<Float32Array | null>;
  /** Where each drawing lands on the map: `[x, y]`. */
  xy: PerPad<Float32Array | null>;
  /** The labels of the 5 map digits nearest each drawing, closest first. */
  nearest: PerPad<number[] | null>;
  /** Each drawing against the gallery (null: empty pad or gallery). */
  match: PerPad<GalleryMatch | null>;
}

/** The held-out digits' map: `[x0, y0, x1, y1, …]` and their labels. */
export interface ReferenceMap {
  points: Float32Array;
  labels: Uint8Array;
}

export interface EngineClientEventMap {
  /** A part of a download arrived. */
  progress: CustomEvent<Progress>;
  /** A move between WebGPU and the CPU, new weights or another network. */
  backend: CustomEvent<BackendChange>;
  /** A new worker took over from the last snapshot. */
  restarted: CustomEvent<EngineInfo>;
  /** A message for the status line (or an engine's own words). */
  note: CustomEvent<Message | string>;
  /** The session changed: the new snapshot. */
  session: CustomEvent<Snapshot>;
}

/** The page's engine: one worker, shared by every `<siamese-digits>` on the page. */
export declare class EngineClient extends EventTarget {
  /** `testing`: the testing aids answer (the page was opened with `?testing`). */
  constructor(pkgUrl: string | URL, backend: Backend, testing?: boolean);

  /** The URL of `pkg/`. */
  readonly pkg: string;
  /** The backend asked for last. */
  wanted: Backend;
  readonly testing: boolean | undefined;
  /** The last snapshot of the session the worker sent; null before the start. */
  snapshot: Snapshot | null;
  /** The engine's info as last told; null before the start. */
  info: EngineInfo | null;
  /** Resolves once the engine answers (again, after a restart or a retry). */
  ready: Promise<EngineInfo>;
  /** Whether the last start failed (`retry()` starts over). */
  failed: boolean;
  /** Set once the engine keeps stopping: every call then rejects with it. */
  dead?: Error;
  /** Why the last start could not reopen the session it was given, if it could not. */
  startNote: Message | null | undefined;

  /** The last snapshot's training set. */
  readonly items: Item[];
  /** The last snapshot's gallery. */
  readonly gallery: GalleryEntry[];

  /** Start over after a failed start (a new worker); a running or successful start is left alone. */
  retry(): Promise<EngineInfo>;
  /** Tell this client's listeners (test hook). */
  emit<K extends keyof EngineClientEventMap>(type: K, detail: EngineClientEventMap[K]['detail']): void;

  setBackend(backend: Backend): Promise<EngineInfo>;
  /** Both pads' drawings (or null); their buffers are transferred. */
  compare(a: Drawing | null, b: Drawing | null): Promise<CompareResult>;
  /** A drawing (transferred) → the 28×28 image the network sees, or null without ink. */
  preprocess(pad: Drawing | null): Promise<Float32Array | null>;
  /** Fit the map to the network answering now. */
  map(): Promise<ReferenceMap>;
  /** The `nth` bundled sample of `digit` (784 values). */
  sample(digit: number, nth: number): Promise<Float32Array>;
  /** Pair accuracy on the visitor's items (NaN without a pair) and on the held-out digits. */
  scores(): Promise<{ user: number; validation: number }>;
  /** One fine-tuning step with the session's options; resolves to its loss. */
  trainStep(): Promise<number>;
  /** Testing aid: bytes of wasm memory each module holds. */
  memory(): Promise<{ cpu: number; gpu: number }>;
  /** Testing aid: the WebGPU device is destroyed, as a driver reset would. */
  loseGpu(): Promise<void>;
  /** Testing aid: the engine panics (the worker is restarted). */
  crash(): Promise<never>;

  addItem(item: Item): Promise<Snapshot>;
  removeItem(index: number): Promise<Snapshot>;
  clearItems(): Promise<Snapshot>;
  /** Some options; one out of its bounds rejects with the engine's reason and nothing changes. */
  setOptions(options: OptionsUpdate): Promise<Snapshot>;
  /** A snapshot of the session as it is now. */
  refreshSnapshot(): Promise<Snapshot>;

  /** Keep a pad's drawing (transferred; strokes only) in the gallery under `name`. */
  addReference(name: string, pad: Drawing | null): Promise<Snapshot>;
  removeReference(index: number): Promise<Snapshot>;
  clearGallery(): Promise<Snapshot>;
  /** A gallery file's text: all its references, after the visitor's, or none. */
  importGallery(text: string): Promise<Snapshot>;
  /** The gallery as a file's text (JSON). */
  exportGallery(): Promise<string>;

  /** The current weights as a file. */
  exportWeights(): Promise<Uint8Array>;
  /** Load weights; a bad file rejects and the current model stays. */
  importWeights(bytes: Uint8Array): Promise<Snapshot>;
  /** Back to the shipped weights (items and options stay). */
  reset(): Promise<Snapshot>;
  /** Let another network answer; the first switch to `'seed'` downloads its weights. */
  useNetwork(name: Network): Promise<Snapshot>;
  /** Replace the whole session; resolves to what was set aside (weights tuned under another release), or null. */
  openSession(bytes: Uint8Array): Promise<SetAside | null>;

  addEventListener<K extends keyof EngineClientEventMap>(type: K, listener: (this: EngineClient, ev: EngineClientEventMap[K]) => any, options?: boolean | AddEventListenerOptions): void;
  addEventListener(type: string, listener: EventListenerOrEventListenerObject | null, options?: boolean | AddEventListenerOptions): void;
  removeEventListener<K extends keyof EngineClientEventMap>(type: K, listener: (this: EngineClient, ev: EngineClientEventMap[K]) => any, options?: boolean | EventListenerOptions): void;
  removeEventListener(type: string, listener: EventListenerOrEventListenerObject | null, options?: boolean | EventListenerOptions): void;
}

/** The page's engine client, created by the first caller; later arguments are ignored. */
export declare function getClient(pkgUrl: string | URL, backend: Backend, testing?: boolean): EngineClient;

/**
 * Runs `compute` whenever `request()` is called, never two at once and at most once
 * per animation frame; `onBusy(true)` when a request arrives while idle,
 * `onBusy(false)` once the last one has been computed.
 */
export declare class Coalescer {
  constructor(compute: () => unknown, onBusy?: (busy: boolean) => void);
  request(): void;
  /** Drop a pending update. */
  cancel(): void;
}

/** Resolves at the next animation frame. */
export declare const nextFrame: () => Promise<void>;
