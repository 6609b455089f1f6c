/* tslint:disable */
/* eslint-disable */

export type Backend = 'auto' | 'webgpu' | 'cpu';
export type Network = 'default' | 'seed';
export type Loss = 'contrastive' | 'triplet';
export interface CreateOptions { backend?: Backend; testing?: boolean }
export interface Comparison { distance: number; a: Float32Array; b: Float32Array }
export interface Bounds { default: number; min: number; max: number }
export interface FineTuning { loss: { default: Loss; choices: Loss[] }; learningRate: Bounds; batchSize: Bounds; steps: Bounds }
export interface Options { loss: Loss; learningRate: number; batchSize: number; steps: number }
export type OptionsUpdate = Partial<Options>;
export type Item = { kind: 'example'; image: Float32Array; label: number } | { kind: 'pair'; a: Float32Array; b: Float32Array; same: boolean };
export interface GalleryEntry { name: string; image: Float32Array }
export interface Candidate { name: string; distance: number }
export interface GalleryMatch { label: string | null; nearest: Candidate[] }
export interface SetAside { weights: Uint8Array; release: string; steps: number }
export interface Opened { setAside: SetAside | null }



/**
 * The Siamese network and the visitor's session, ready to answer the page.
 */
export class Engine {
    private constructor();
    free(): void;
    [Symbol.dispose](): void;
    /**
     * Add a drawn digit with its label; returns how many items there are.
     */
    addExample(image: Float32Array | number[], label: number): number;
    /**
     * Add a pair marked same / different; returns how many items there are.
     */
    addPair(a: Float32Array | number[], b: Float32Array | number[], same: boolean): number;
    /**
     * Add a drawing (pen strokes, as `preprocessStrokes` takes them) under `name`;
     * returns how many references there are.
     */
    addReference(name: string, xy: Float32Array | number[], ends: Uint32Array | number[]): number;
    /**
     * Add the seed network's weights (`pkg/seed.bin`, fetched only when that network
     * is chosen). Anything but this release's file throws.
     */
    addSeedWeights(bytes: Uint8Array | number[]): void;
    clearGallery(): void;
    /**
     * Forget every item.
     */
    clearItems(): void;
    /**
     * Both embeddings and their distance, in one read:
     * `{ distance, a: Float32Array, b: Float32Array }`.
     */
    compare(a: Float32Array | number[], b: Float32Array | number[]): Promise<Comparison>;
    /**
     * `Engine.create({ backend: 'auto' | 'webgpu' | 'cpu', testing: false })`.
     */
    static create(options_value: CreateOptions | undefined): Promise<Engine>;
    /**
     * Testing aid (`testing: true` only): destroy the page's WebGPU device, as a
     * driver reset would; engines on WebGPU then move to the CPU on their next call.
     */
    destroyGpuDevice(): void;
    /**
     * Euclidean distance between the embeddings of two 784-value images (one read).
     */
    distance(a: Float32Array | number[], b: Float32Array | number[]): Promise<number>;
    /**
     * Embeddings of `n` images given as `n × 784` values, flattened `n × embeddingSize`.
     */
    embedMany(images: Float32Array | number[]): Promise<Float32Array>;
    /**
     * The embedding of one 784-value image.
     */
    embed(a: Float32Array | number[]): Promise<Float32Array>;
    /**
     * The gallery as a JSON file (its references' strokes and names).
     */
    exportGallery(): string;
    /**
     * The whole session — weights, items, options, steps — as one file.
     */
    exportSession(): Promise<Uint8Array>;
    /**
     * The current weights as a file. On the CPU this reads fine-tuned weights
     * directly; on WebGPU call `await syncWeights()` first after training.
     */
    exportWeights(): Uint8Array;
    /**
     * The fine-tuning options' defaults and bounds:
     * `{ loss, learningRate: { default, min, max }, batchSize: {…}, steps: {…} }`.
     */
    static fineTuning(): FineTuning;
    /**
     * The gallery's references in the order added: `[{ name, image }]`, `image` the
     * 28×28 input the network sees of the reference's strokes.
     */
    gallery(): GalleryEntry[];
    /**
     * Whether this module can run on WebGPU at all (the WebGPU module can, the
     * CPU module cannot).
     */
    static hasWebGpu(): boolean;
    /**
     * Add a gallery file's references after the visitor's: all of them, or, if one
     * is bad, none; returns how many there are.
     */
    importGallery(text: string): number;
    /**
     * Load weights exported earlier. A bad file throws and the current model stays.
     */
    importWeights(bytes: Uint8Array | number[]): void;
    /**
     * The training set, in the order added: `[{ kind: 'example', image, label } |
     * { kind: 'pair', a, b, same }]` (images as `Float32Array`s).
     */
    items(): Item[];
    /**
     * The message of the panic that stopped this module's instance, if one did
     * (its calls then throw `RuntimeError: unreachable`; start a new instance).
     */
    static lastPanic(): string | undefined;
    /**
     * A drawing's embedding against the gallery: `{ label, nearest: [{ name, distance }] }`,
     * the `k` nearest names, and `label` the nearest's if it is within the threshold
     * (`null`: none of these). Embeds the references first if the model changed.
     */
    matchGallery(embedding: Float32Array | number[], k: number): Promise<GalleryMatch>;
    /**
     * The labels of the `k` bundled digits of the last `referenceMap()` nearest to an
     * embedding, nearest first: the map's text summary.
     */
    nearest(embedding: Float32Array | number[], k: number): Uint8Array;
    /**
     * Called with the reason whenever the engine moves from WebGPU to the CPU.
     */
    onFallback(callback: ((reason: string) => void) | null): void;
    /**
     * Replace the whole session with one from `exportSession()`, or throw and change
     * nothing. Returns `{ setAside }`: `null`, or the fine-tuned weights of a session
     * saved under another release (the shipped ones are in use instead) as
     * `{ weights: Uint8Array, release, steps }`.
     */
    openSession(bytes: Uint8Array | number[]): Opened;
    /**
     * A drawing's pen strokes → the 28×28 image the network sees, the same at any
     * size or position: `xy` holds x0, y0, x1, y1, … (any unit, y down) and
     * `ends[k]` counts the points up to the end of stroke `k`.
     */
    preprocessStrokes(xy: Float32Array | number[], ends: Uint32Array | number[]): Float32Array;
    /**
     * RGBA canvas pixels (`ImageData.data`) → the 28×28 image the network sees.
     */
    preprocess(rgba: Uint8Array | number[], width: number, height: number): Float32Array;
    /**
     * Where an embedding falls on the map of the last `referenceMap()`: `[x, y]`.
     */
    project(embedding: Float32Array | number[]): Float32Array;
    /**
     * The embedding map: the bundled validation digits' embeddings (computed once per
     * change of the weights), a PCA fitted to them, and their 2-D positions
     * `[x0, y0, x1, y1, …]` (labels: `validationLabels()`). Call again after
     * fine-tuning to redraw the map for the new weights.
     */
    referenceMap(): Promise<Float32Array>;
    /**
     * Remove item `index`; returns how many are left.
     */
    removeItem(index: number): number;
    removeReference(index: number): number;
    /**
     * Back to the shipped weights (items and options are kept).
     */
    reset(): void;
    /**
     * Change some options (`{ loss?, learningRate?, batchSize?, steps? }`); one out of
     * its bounds throws and nothing changes. Returns all the options.
     */
    setOptions(update: OptionsUpdate): Options;
    /**
     * Read the fine-tuned weights back from the device (one read, async: WebGPU
     * allows no other), so `exportWeights()` and a later fallback have them.
     */
    syncWeights(): Promise<void>;
    /**
     * Testing aid (`testing: true` only): panic, as a bug would (the instance then
     * traps; see `lastPanic`).
     */
    testPanic(): void;
    /**
     * One fine-tuning step with the session's options; resolves to its loss. A step
     * that diverges is undone and throws. The weights stay on the device:
     * `syncWeights()` brings them to `exportWeights()`.
     */
    trainStep(): Promise<number>;
    /**
     * Let `'default'` or `'seed'` answer; the network leaving is kept as it was left
     * (fine-tuned or not) and comes back so. Fit the map again afterwards.
     */
    useNetwork(name: Network): Promise<void>;
    /**
     * Pair accuracy at the threshold on the visitor's own items: every pair of
     * labelled examples plus every marked pair. `NaN` when there is no pair yet.
     */
    userAccuracy(): Promise<number>;
    /**
     * Pair accuracy at the threshold on the bundled validation digits (one same and
     * one different partner each).
     */
    validationAccuracy(): Promise<number>;
    /**
     * The bundled validation digits (`n × 784` values) …
     */
    validationImages(): Float32Array;
    /**
     * … and their labels.
     */
    validationLabels(): Uint8Array;
    /**
     * This build's version (`Cargo.toml`'s), as the release bundle names it.
     */
    static version(): string;
    /**
     * Run every kernel the page uses once — a pair, one image, the map's batch, a
     * training step, a weights read — so a new engine answers at full speed from its
     * first call. Changes nothing.
     */
    warm(): Promise<void>;
    /**
     * Why this browser cannot run WebGPU (`undefined` when it has an adapter).
     */
    static webGpuProblem(): Promise<string | undefined>;
    /**
     * What is really running: `"webgpu"` or `"cpu"`.
     */
    readonly backend: 'webgpu' | 'cpu';
    /**
     * Size of the embeddings.
     */
    readonly embeddingSize: number;
    /**
     * Why the engine is on the CPU although WebGPU was wanted, if it is.
     */
    readonly fallbackReason: string | undefined;
    readonly galleryCount: number;
    /**
     * Whether the seed network's weights were added ([`Engine::add_seed_weights`]).
     */
    readonly hasSeedWeights: boolean;
    readonly itemCount: number;
    /**
     * Which network answers: `default` (ours) or `seed` (the reference post's).
     */
    readonly network: Network;
    /**
     * The session's fine-tuning options: `{ loss, learningRate, batchSize, steps }`.
     */
    readonly options: Options;
    /**
     * Name of the loaded architecture (`default`, `seed`).
     */
    readonly preset: string;
    /**
     * Which shipped weights this build carries (their checksum, 8 hex digits): saved
     * sessions and models remember it, so a new release can be told apart.
     */
    readonly release: string;
    /**
     * Changes with every change to the session (a snapshot taken before is stale).
     */
    readonly revision: number;
    /**
     * Fine-tuning steps taken on the current weights.
     */
    readonly steps: number;
    /**
     * The calibrated "same digit" distance: below it, two digits are judged the same.
     */
    readonly threshold: number;
}

/**
 * Runs when the module is initialised: the static constructors, once, and a panic
 * hook, so a panic becomes a console error and a message the worker can report,
 * not a bare `unreachable`.
 */
export function start(): void;

export type InitInput = RequestInfo | URL | Response | BufferSource | WebAssembly.Module;

export interface InitOutput {
    readonly memory: WebAssembly.Memory;
    readonly __wbg_engine_free: (a: number, b: number) => void;
    readonly engine_addExample: (a: number, b: number, c: number, d: number, e: number) => void;
    readonly engine_addPair: (a: number, b: number, c: number, d: number, e: number, f: number, g: number) => void;
    readonly engine_addReference: (a: number, b: number, c: number, d: number, e: number, f: number, g: number, h: number) => void;
    readonly engine_addSeedWeights: (a: number, b: number, c: number, d: number) => void;
    readonly engine_backend: (a: number, b: number) => void;
    readonly engine_clearGallery: (a: number) => void;
    readonly engine_clearItems: (a: number) => void;
    readonly engine_compare: (a: number, b: number, c: number, d: number, e: number) => any;
    readonly engine_create: (a: any) => any;
    readonly engine_destroyGpuDevice: (a: number, b: number) => void;
    readonly engine_distance: (a: number, b: number, c: number, d: number, e: number) => any;
    readonly engine_embed: (a: number, b: number, c: number) => any;
    readonly engine_embedMany: (a: number, b: number, c: number) => any;
    readonly engine_embeddingSize: (a: number) => number;
    readonly engine_exportGallery: (a: number, b: number) => void;
    readonly engine_exportSession: (a: number) => any;
    readonly engine_exportWeights: (a: number, b: number) => void;
    readonly engine_fallbackReason: (a: number, b: number) => void;
    readonly engine_fineTuning: (a: number) => void;
    readonly engine_gallery: (a: number, b: number) => void;
    readonly engine_galleryCount: (a: number) => number;
    readonly engine_hasSeedWeights: (a: number) => number;
    readonly engine_hasWebGpu: () => number;
    readonly engine_importGallery: (a: number, b: number, c: number, d: number) => void;
    readonly engine_importWeights: (a: number, b: number, c: number, d: number) => void;
    readonly engine_itemCount: (a: number) => number;
    readonly engine_items: (a: number, b: number) => void;
    readonly engine_lastPanic: (a: number) => void;
    readonly engine_matchGallery: (a: number, b: number, c: number, d: number) => any;
    readonly engine_nearest: (a: number, b: number, c: number, d: number, e: number) => void;
    readonly engine_network: (a: number, b: number) => void;
    readonly engine_onFallback: (a: number, b: number) => void;
    readonly engine_openSession: (a: number, b: number, c: number, d: number) => void;
    readonly engine_options: (a: number, b: number) => void;
    readonly engine_preprocess: (a: number, b: number, c: number, d: number, e: number, f: number) => void;
    readonly engine_preprocessStrokes: (a: number, b: number, c: number, d: number, e: number, f: number) => void;
    readonly engine_preset: (a: number, b: number) => void;
    readonly engine_project: (a: number, b: number, c: number, d: number) => void;
    readonly engine_referenceMap: (a: number) => any;
    readonly engine_release: (a: number, b: number) => void;
    readonly engine_removeItem: (a: number, b: number, c: number) => void;
    readonly engine_removeReference: (a: number, b: number, c: number) => void;
    readonly engine_reset: (a: number) => void;
    readonly engine_revision: (a: number) => number;
    readonly engine_setOptions: (a: number, b: number, c: any) => void;
    readonly engine_steps: (a: number) => number;
    readonly engine_syncWeights: (a: number) => any;
    readonly engine_testPanic: (a: number, b: number) => void;
    readonly engine_threshold: (a: number) => number;
    readonly engine_trainStep: (a: number) => any;
    readonly engine_useNetwork: (a: number, b: number, c: number) => any;
    readonly engine_userAccuracy: (a: number) => any;
    readonly engine_validationAccuracy: (a: number) => any;
    readonly engine_validationImages: (a: number, b: number) => void;
    readonly engine_validationLabels: (a: number, b: number) => void;
    readonly engine_version: (a: number) => void;
    readonly engine_warm: (a: number) => any;
    readonly engine_webGpuProblem: () => any;
    readonly start: () => void;
    readonly __wasm_bindgen_func_elem_55615: (a: number, b: number, c: number, d: any) => void;
    readonly __wasm_bindgen_func_elem_55615_64: (a: number, b: number, c: number, d: any) => void;
    readonly __wasm_bindgen_func_elem_55615_65: (a: number, b: number, c: number, d: any) => void;
    readonly __wasm_bindgen_func_elem_86137: (a: number, b: number, c: number, d: any) => void;
    readonly __wasm_bindgen_func_elem_86142: (a: number, b: number, c: any, d: any) => void;
    readonly __wasm_bindgen_func_elem_55613: (a: number, b: number, c: any) => void;
    readonly __wasm_bindgen_func_elem_55613_63: (a: number, b: number, c: any) => void;
    readonly __wbindgen_export: (a: number, b: number) => number;
    readonly __wbindgen_export2: (a: number, b: number, c: number, d: number) => number;
    readonly __wbindgen_export3: (a: number, b: number, c: number) => void;
    readonly __wbindgen_export4: (a: number) => void;
    readonly __wbindgen_export5: () => number;
    readonly __wbindgen_externrefs: WebAssembly.Table;
    readonly __wbindgen_export6: (a: number, b: number) => void;
    readonly __wbindgen_add_to_stack_pointer: (a: number) => number;
    readonly __wbindgen_export7: (a: number) => void;
    readonly __wbindgen_start: () => void;
}

export type SyncInitInput = BufferSource | WebAssembly.Module;

/**
 * Instantiates the given `module`, which can either be bytes or
 * a precompiled `WebAssembly.Module`.
 *
 * @param {{ module: SyncInitInput }} module - Passing `SyncInitInput` directly is deprecated.
 *
 * @returns {InitOutput}
 */
export function initSync(module: { module: SyncInitInput } | SyncInitInput): InitOutput;

/**
 * If `module_or_path` is {RequestInfo} or {URL}, makes a request and
 * for everything else, calls `WebAssembly.instantiate` directly.
 *
 * @param {{ module_or_path: InitInput | Promise<InitInput> }} module_or_path - Passing `InitInput` directly is deprecated.
 *
 * @returns {Promise<InitOutput>}
 */
export default function __wbg_init (module_or_path?: { module_or_path: InitInput | Promise<InitInput> } | InitInput | Promise<InitInput>): Promise<InitOutput>;
