//! The JavaScript API (the crate's only `#[wasm_bindgen]` code): an [`Engine`] that
//! converts between JS values and the visitor's [`Session`], and errors into JS
//! errors. Every rule — defaults, bounds, fine-tuning decisions, the session's
//! format — is the session's ([`crate::session`]); where it runs and what happens
//! when the GPU fails is [`crate::gpu`]'s.

use std::cell::RefCell;
use std::rc::Rc;

use js_sys::{Array, Object, Reflect};
use serde::Deserialize;
use serde::de::DeserializeOwned;
use wasm_bindgen::prelude::*;

use crate::backend::cpu;
use crate::data::Dataset;
use crate::distance::euclidean_host;
use crate::gallery::Reference;
use crate::gpu::{self, Runtime};
use crate::model::{IMAGE_PIXELS, Preset};
use crate::preprocess::{raster_to_mnist, rgba_to_gray};
use crate::session::{FINE_TUNING, OptionsUpdate, Session};
use crate::strokes::strokes_to_mnist;
use crate::studio::{Item, check_image};

/// Training digits mixed into every fine-tuning batch so the model keeps the rest.
const REPLAY: &[u8] = include_bytes!("../weights/replay.bin");
/// Held-out digits for before/after scores and browser tests.
const VALIDATION: &[u8] = include_bytes!("../weights/validation.bin");

fn err(message: impl std::fmt::Display) -> JsError {
    JsError::new(&message.to_string())
}

thread_local! {
    /// The last panic's message: `panic = "abort"` then traps the instance, whose
    /// memory still holds this for [`Engine::last_panic`].
    static LAST_PANIC: RefCell<Option<String>> = const { RefCell::new(None) };
}

unsafe extern "C" {
    /// Synthesised by wasm-ld: runs the static constructors (the WebGPU module's
    /// compiler registers its IR dialects through `inventory`).
    fn __wasm_call_ctors();
}

/// Runs when the module is initialised: the static constructors, once, and a panic
/// hook, so a panic becomes a console error and a message the worker can report,
/// not a bare `unreachable`.
#[wasm_bindgen(start)]
fn start() {
    // Calling the constructors here tells wasm-ld not to wrap every export in a
    // call to them: in the WebGPU module that cost ~50 ms per `distance()`
    // (each call from JS, promise callbacks included, re-ran thousands of them).
    // SAFETY: this runs once, at instantiation, before any other Rust code.
    unsafe { __wasm_call_ctors() };
    std::panic::set_hook(Box::new(|info| {
        let message = info.to_string().replace('\n', " ");
        web_sys::console::error_1(&format!("siamese-digits: {message}").into());
        LAST_PANIC.with(|last| *last.borrow_mut() = Some(message));
    }));
}

/// Optional options: `undefined` and `null` mean the defaults.
fn options<T: DeserializeOwned + Default>(value: JsValue) -> Result<T, JsError> {
    if value.is_undefined() || value.is_null() {
        return Ok(T::default());
    }
    serde_wasm_bindgen::from_value(value).map_err(|e| err(format!("bad options: {e}")))
}

fn to_js(value: &impl serde::Serialize) -> Result<JsValue, JsError> {
    value.serialize(&serde_wasm_bindgen::Serializer::json_compatible()).map_err(err)
}

/// A plain JS object from `(key, value)` pairs.
fn object(fields: &[(&str, JsValue)]) -> Result<JsValue, JsError> {
    let result = Object::new();
    for (key, value) in fields {
        Reflect::set(&result, &(*key).into(), value).map_err(|_| err("could not build the result object"))?;
    }
    Ok(result.into())
}

fn floats(values: &[f32]) -> JsValue {
    js_sys::Float32Array::from(values).into()
}

// The shapes of the objects the API takes and returns, for the generated `.d.ts`
// (each is what the function beside its use builds or reads).
#[wasm_bindgen(typescript_custom_section)]
const TYPES: &str = r#"
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
"#;

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct CreateOptions {
    backend: Option<String>,
    testing: Option<bool>,
}

/// The Siamese network and the visitor's session, ready to answer the page.
#[wasm_bindgen]
pub struct Engine {
    runtime: Rc<RefCell<Runtime>>,
    /// Whether the testing aids answer (the page was opened with `?testing`).
    testing: bool,
}

impl Engine {
    fn session<T>(&self, read: impl FnOnce(&Session) -> T) -> T {
        read(&self.runtime.borrow().session)
    }

    fn session_mut<T>(&self, change: impl FnOnce(&mut Session) -> T) -> T {
        change(&mut self.runtime.borrow_mut().session)
    }

    fn validation(&self) -> Rc<Dataset> {
        self.session(|s| s.validation().clone())
    }

    /// Embeddings of `n` checked images (`n × 784`), flattened `n × embedding`.
    async fn embed_checked(&self, images: Vec<f32>) -> Result<Vec<f32>, JsError> {
        gpu::compute(&self.runtime, |s, _| s.embed(&images)).await.map_err(err)
    }

    /// The bundled validation digits' embeddings under the current weights, computed
    /// once per change of the weights.
    async fn validation_embeddings(&self) -> Result<Vec<f32>, JsError> {
        let key = match self.session(Session::validation_embeddings) {
            Ok(embeddings) => return Ok(embeddings),
            Err(key) => key,
        };
        let embeddings = self.embed_checked(self.validation().images.clone()).await?;
        self.session_mut(|s| s.validation_embedded(key, embeddings.clone()));
        Ok(embeddings)
    }

    /// Both images' embeddings, `a ‖ b`, in one read.
    async fn embed_pair(&self, a: &[f32], b: &[f32]) -> Result<Vec<f32>, JsError> {
        check_image(a, "first image").map_err(err)?;
        check_image(b, "second image").map_err(err)?;
        gpu::embed_pair(&self.runtime, a, b).await.map_err(err)
    }

    fn testing_aid(&self) -> Result<(), JsError> {
        if self.testing { Ok(()) } else { Err(err("testing aids answer only when the page was opened with ?testing")) }
    }
}

#[wasm_bindgen]
impl Engine {
    /// `Engine.create({ backend: 'auto' | 'webgpu' | 'cpu', testing: false })`.
    pub async fn create(#[wasm_bindgen(unchecked_param_type = "CreateOptions | undefined")] options_value: JsValue) -> Result<Engine, JsError> {
        let options: CreateOptions = options(options_value)?;
        let wanted = options.backend.as_deref().unwrap_or("auto");
        let (backend, device, fallback_reason) = match wanted {
            "cpu" => ("cpu", cpu(), None),
            "auto" | "webgpu" => match gpu::device().await {
                Ok(device) => ("webgpu", device, None),
                Err(reason) => ("cpu", cpu(), Some(reason)),
            },
            other => return Err(err(format!("unknown backend `{other}` (expected auto, webgpu or cpu)"))),
        };
        let replay = Dataset::from_bytes(REPLAY).map_err(err)?;
        let validation = Rc::new(Dataset::from_bytes(VALIDATION).map_err(err)?);
        let session = Session::new(device, replay, validation).map_err(err)?;
        let runtime = Runtime { session, backend, fallback_reason, on_fallback: None };
        let engine = Engine { runtime: Rc::new(RefCell::new(runtime)), testing: options.testing.unwrap_or(false) };
        // One real computation: a GPU that cannot run our kernels is found now.
        engine.embed_checked(vec![0.0; IMAGE_PIXELS]).await?;
        Ok(engine)
    }

    /// Why this browser cannot run WebGPU (`undefined` when it has an adapter).
    #[wasm_bindgen(js_name = webGpuProblem)]
    pub async fn webgpu_problem() -> Option<String> {
        gpu::adapter_problem().await
    }

    /// The fine-tuning options' defaults and bounds:
    /// `{ loss, learningRate: { default, min, max }, batchSize: {…}, steps: {…} }`.
    #[wasm_bindgen(js_name = fineTuning, unchecked_return_type = "FineTuning")]
    pub fn fine_tuning() -> Result<JsValue, JsError> {
        to_js(&FINE_TUNING)
    }

    /// The message of the panic that stopped this module's instance, if one did
    /// (its calls then throw `RuntimeError: unreachable`; start a new instance).
    #[wasm_bindgen(js_name = lastPanic)]
    pub fn last_panic() -> Option<String> {
        LAST_PANIC.with(|last| last.try_borrow().ok().and_then(|m| m.clone()))
    }

    /// This build's version (`Cargo.toml`'s), as the release bundle names it.
    pub fn version() -> String {
        env!("CARGO_PKG_VERSION").into()
    }

    /// Which shipped weights this build carries (their checksum, 8 hex digits): saved
    /// sessions and models remember it, so a new release can be told apart.
    #[wasm_bindgen(getter)]
    pub fn release(&self) -> String {
        self.session(|s| s.release().to_string())
    }

    /// Testing aid (`testing: true` only): panic, as a bug would (the instance then
    /// traps; see `lastPanic`).
    #[wasm_bindgen(js_name = testPanic)]
    pub fn test_panic(&self) -> Result<(), JsError> {
        self.testing_aid()?;
        panic!("a test panic, asked for by the page's testing aid");
    }

    /// Testing aid (`testing: true` only): destroy the page's WebGPU device, as a
    /// driver reset would; engines on WebGPU then move to the CPU on their next call.
    #[wasm_bindgen(js_name = destroyGpuDevice)]
    pub fn destroy_gpu_device(&self) -> Result<(), JsError> {
        self.testing_aid()?;
        gpu::destroy();
        Ok(())
    }

    /// What is really running: `"webgpu"` or `"cpu"`.
    #[wasm_bindgen(getter, unchecked_return_type = "'webgpu' | 'cpu'")]
    pub fn backend(&self) -> String {
        self.runtime.borrow().backend.to_string()
    }

    /// Whether this module can run on WebGPU at all (the WebGPU module can, the
    /// CPU module cannot).
    #[wasm_bindgen(js_name = hasWebGpu)]
    pub fn has_webgpu() -> bool {
        cfg!(feature = "webgpu")
    }

    /// Why the engine is on the CPU although WebGPU was wanted, if it is.
    #[wasm_bindgen(getter, js_name = fallbackReason)]
    pub fn fallback_reason(&self) -> Option<String> {
        self.runtime.borrow().fallback_reason.clone()
    }

    /// Called with the reason whenever the engine moves from WebGPU to the CPU.
    #[wasm_bindgen(js_name = onFallback)]
    pub fn on_fallback(&self, #[wasm_bindgen(unchecked_param_type = "((reason: string) => void) | null")] callback: Option<js_sys::Function>) {
        self.runtime.borrow_mut().on_fallback = callback;
    }

    /// The calibrated "same digit" distance: below it, two digits are judged the same.
    #[wasm_bindgen(getter)]
    pub fn threshold(&self) -> f32 {
        self.session(|s| s.header().threshold)
    }

    /// Name of the loaded architecture (`default`, `seed`).
    #[wasm_bindgen(getter)]
    pub fn preset(&self) -> String {
        self.session(|s| s.header().preset.clone())
    }

    /// Which network answers: `default` (ours) or `seed` (the reference post's).
    #[wasm_bindgen(getter, unchecked_return_type = "Network")]
    pub fn network(&self) -> String {
        self.session(|s| s.network().name().to_string())
    }

    /// Whether the seed network's weights were added ([`Engine::add_seed_weights`]).
    #[wasm_bindgen(getter, js_name = hasSeedWeights)]
    pub fn has_seed_weights(&self) -> bool {
        self.session(Session::has_seed_weights)
    }

    /// Add the seed network's weights (`pkg/seed.bin`, fetched only when that network
    /// is chosen). Anything but this release's file throws.
    #[wasm_bindgen(js_name = addSeedWeights)]
    pub fn add_seed_weights(&self, bytes: Vec<u8>) -> Result<(), JsError> {
        self.session_mut(|s| s.add_seed_weights(bytes)).map_err(err)
    }

    /// Let `'default'` or `'seed'` answer; the network leaving is kept as it was left
    /// (fine-tuned or not) and comes back so. Fit the map again afterwards.
    #[wasm_bindgen(js_name = useNetwork)]
    pub async fn use_network(&self, #[wasm_bindgen(unchecked_param_type = "Network")] name: String) -> Result<(), JsError> {
        let network: Preset = name.parse().map_err(err)?;
        gpu::sync(&self.runtime).await.map_err(err)?;
        let mut runtime = self.runtime.borrow_mut();
        let on_cpu = runtime.on_cpu();
        runtime.session.use_network(network, on_cpu).map_err(err)
    }

    /// Size of the embeddings.
    #[wasm_bindgen(getter, js_name = embeddingSize)]
    pub fn embedding_size(&self) -> usize {
        self.session(|s| s.header().config.embedding)
    }

    /// Changes with every change to the session (a snapshot taken before is stale).
    #[wasm_bindgen(getter)]
    pub fn revision(&self) -> f64 {
        self.session(|s| s.revision() as f64)
    }

    /// Fine-tuning steps taken on the current weights.
    #[wasm_bindgen(getter)]
    pub fn steps(&self) -> u32 {
        self.session(Session::steps)
    }

    /// RGBA canvas pixels (`ImageData.data`) → the 28×28 image the network sees.
    pub fn preprocess(&self, rgba: &[u8], width: usize, height: usize) -> Result<Vec<f32>, JsError> {
        let gray = rgba_to_gray(rgba, width, height).map_err(err)?;
        Ok(raster_to_mnist(&gray, width, height).map_err(err)?.to_vec())
    }

    /// A drawing's pen strokes → the 28×28 image the network sees, the same at any
    /// size or position: `xy` holds x0, y0, x1, y1, … (any unit, y down) and
    /// `ends[k]` counts the points up to the end of stroke `k`.
    #[wasm_bindgen(js_name = preprocessStrokes)]
    pub fn preprocess_strokes(&self, xy: &[f32], ends: &[u32]) -> Result<Vec<f32>, JsError> {
        Ok(strokes_to_mnist(xy, ends).map_err(err)?.to_vec())
    }

    /// Euclidean distance between the embeddings of two 784-value images (one read).
    pub async fn distance(&self, a: Vec<f32>, b: Vec<f32>) -> Result<f32, JsError> {
        let both = self.embed_pair(&a, &b).await?;
        let (ea, eb) = both.split_at(both.len() / 2);
        Ok(euclidean_host(ea, eb))
    }

    /// Both embeddings and their distance, in one read:
    /// `{ distance, a: Float32Array, b: Float32Array }`.
    #[wasm_bindgen(unchecked_return_type = "Comparison")]
    pub async fn compare(&self, a: Vec<f32>, b: Vec<f32>) -> Result<JsValue, JsError> {
        let both = self.embed_pair(&a, &b).await?;
        let (ea, eb) = both.split_at(both.len() / 2);
        object(&[("distance", euclidean_host(ea, eb).into()), ("a", floats(ea)), ("b", floats(eb))])
    }

    /// The embedding of one 784-value image.
    pub async fn embed(&self, a: Vec<f32>) -> Result<Vec<f32>, JsError> {
        check_image(&a, "image").map_err(err)?;
        self.embed_checked(a).await
    }

    /// Embeddings of `n` images given as `n × 784` values, flattened `n × embeddingSize`.
    #[wasm_bindgen(js_name = embedMany)]
    pub async fn embed_many(&self, images: Vec<f32>) -> Result<Vec<f32>, JsError> {
        if images.is_empty() || !images.len().is_multiple_of(IMAGE_PIXELS) {
            return Err(err(format!("expected a multiple of {IMAGE_PIXELS} values, got {}", images.len())));
        }
        if let Some(i) = images.iter().position(|v| !v.is_finite()) {
            return Err(err(format!("value {i} is not a finite number")));
        }
        self.embed_checked(images).await
    }

    /// Run every kernel the page uses once — a pair, one image, the map's batch, a
    /// training step, a weights read — so a new engine answers at full speed from its
    /// first call. Changes nothing.
    pub async fn warm(&self) -> Result<(), JsError> {
        let blank = vec![0.0; IMAGE_PIXELS];
        self.embed_pair(&blank, &blank).await?;
        self.embed_checked(blank).await?;
        self.validation_embeddings().await?;
        gpu::warm_training(&self.runtime).await.map_err(err)
    }

    /// The bundled validation digits (`n × 784` values) …
    #[wasm_bindgen(js_name = validationImages)]
    pub fn validation_images(&self) -> Vec<f32> {
        self.validation().images.clone()
    }

    /// … and their labels.
    #[wasm_bindgen(js_name = validationLabels)]
    pub fn validation_labels(&self) -> Vec<u8> {
        self.validation().labels.clone()
    }

    /// Pair accuracy at the threshold on the bundled validation digits (one same and
    /// one different partner each).
    #[wasm_bindgen(js_name = validationAccuracy)]
    pub async fn validation_accuracy(&self) -> Result<f64, JsError> {
        let embeddings = self.validation_embeddings().await?;
        Ok(self.session(|s| s.accuracy(&embeddings, &s.validation_pairs())))
    }

    /// Pair accuracy at the threshold on the visitor's own items: every pair of
    /// labelled examples plus every marked pair. `NaN` when there is no pair yet.
    #[wasm_bindgen(js_name = userAccuracy)]
    pub async fn user_accuracy(&self) -> Result<f64, JsError> {
        let Some((images, pairs)) = self.session(Session::user_images) else {
            return Ok(f64::NAN);
        };
        let embeddings = self.embed_checked(images).await?;
        Ok(self.session(|s| s.accuracy(&embeddings, &pairs)))
    }

    /// The embedding map: the bundled validation digits' embeddings (computed once per
    /// change of the weights), a PCA fitted to them, and their 2-D positions
    /// `[x0, y0, x1, y1, …]` (labels: `validationLabels()`). Call again after
    /// fine-tuning to redraw the map for the new weights.
    #[wasm_bindgen(js_name = referenceMap)]
    pub async fn reference_map(&self) -> Result<Vec<f32>, JsError> {
        let embeddings = self.validation_embeddings().await?;
        Ok(self.session_mut(|s| s.fit_map(embeddings)))
    }

    /// Where an embedding falls on the map of the last `referenceMap()`: `[x, y]`.
    pub fn project(&self, embedding: Vec<f32>) -> Result<Vec<f32>, JsError> {
        Ok(self.session(|s| s.project(&embedding)).map_err(err)?.to_vec())
    }

    /// The labels of the `k` bundled digits of the last `referenceMap()` nearest to an
    /// embedding, nearest first: the map's text summary.
    pub fn nearest(&self, embedding: Vec<f32>, k: usize) -> Result<Vec<u8>, JsError> {
        self.session(|s| s.nearest(&embedding, k)).map_err(err)
    }

    /// The training set, in the order added: `[{ kind: 'example', image, label } |
    /// { kind: 'pair', a, b, same }]` (images as `Float32Array`s).
    #[wasm_bindgen(unchecked_return_type = "Item[]")]
    pub fn items(&self) -> Result<Array, JsError> {
        let items = Array::new();
        for item in self.session(|s| s.items().to_vec()) {
            items.push(&match item {
                Item::Example { image, label } => object(&[("kind", "example".into()), ("image", floats(&image)), ("label", label.into())])?,
                Item::Pair { a, b, same } => object(&[("kind", "pair".into()), ("a", floats(&a)), ("b", floats(&b)), ("same", same.into())])?,
            });
        }
        Ok(items)
    }

    #[wasm_bindgen(getter, js_name = itemCount)]
    pub fn item_count(&self) -> usize {
        self.session(|s| s.items().len())
    }

    /// The gallery's references in the order added: `[{ name, image }]`, `image` the
    /// 28×28 input the network sees of the reference's strokes.
    #[wasm_bindgen(unchecked_return_type = "GalleryEntry[]")]
    pub fn gallery(&self) -> Result<Array, JsError> {
        let list = Array::new();
        for r in self.session(|s| s.gallery().to_vec()) {
            list.push(&object(&[("name", r.name.as_str().into()), ("image", floats(&r.image()))])?);
        }
        Ok(list)
    }

    #[wasm_bindgen(getter, js_name = galleryCount)]
    pub fn gallery_count(&self) -> usize {
        self.session(|s| s.gallery().len())
    }

    /// Add a drawing (pen strokes, as `preprocessStrokes` takes them) under `name`;
    /// returns how many references there are.
    #[wasm_bindgen(js_name = addReference)]
    pub fn add_reference(&self, name: &str, xy: Vec<f32>, ends: Vec<u32>) -> Result<usize, JsError> {
        self.session_mut(|s| s.add_reference(Reference::new(name, xy, ends))).map_err(err)
    }

    #[wasm_bindgen(js_name = removeReference)]
    pub fn remove_reference(&self, index: usize) -> Result<usize, JsError> {
        self.session_mut(|s| s.remove_reference(index)).map_err(err)
    }

    #[wasm_bindgen(js_name = clearGallery)]
    pub fn clear_gallery(&self) {
        self.session_mut(|s| s.clear_gallery());
    }

    /// The gallery as a JSON file (its references' strokes and names).
    #[wasm_bindgen(js_name = exportGallery)]
    pub fn export_gallery(&self) -> String {
        self.session(|s| s.export_gallery())
    }

    /// Add a gallery file's references after the visitor's: all of them, or, if one
    /// is bad, none; returns how many there are.
    #[wasm_bindgen(js_name = importGallery)]
    pub fn import_gallery(&self, text: &str) -> Result<usize, JsError> {
        self.session_mut(|s| s.import_gallery(text)).map_err(err)
    }

    /// A drawing's embedding against the gallery: `{ label, nearest: [{ name, distance }] }`,
    /// the `k` nearest names, and `label` the nearest's if it is within the threshold
    /// (`null`: none of these). Embeds the references first if the model changed.
    #[wasm_bindgen(js_name = matchGallery, unchecked_return_type = "GalleryMatch")]
    pub async fn match_gallery(&self, embedding: Vec<f32>, k: usize) -> Result<JsValue, JsError> {
        // A change while the references were being embedded makes that result stale: again.
        for _ in 0..3 {
            let Some((key, images)) = self.session(|s| s.gallery_to_embed()) else { break };
            let embedded = self.embed_checked(images).await?;
            self.session_mut(|s| s.gallery_embedded(key, embedded));
        }
        to_js(&self.session(|s| s.match_gallery(&embedding, k)).map_err(err)?)
    }

    /// Add a drawn digit with its label; returns how many items there are.
    #[wasm_bindgen(js_name = addExample)]
    pub fn add_example(&self, image: Vec<f32>, label: u8) -> Result<usize, JsError> {
        self.session_mut(|s| s.add(Item::example(&image, label))).map_err(err)
    }

    /// Add a pair marked same / different; returns how many items there are.
    #[wasm_bindgen(js_name = addPair)]
    pub fn add_pair(&self, a: Vec<f32>, b: Vec<f32>, same: bool) -> Result<usize, JsError> {
        self.session_mut(|s| s.add(Item::pair(&a, &b, same))).map_err(err)
    }

    /// Remove item `index`; returns how many are left.
    #[wasm_bindgen(js_name = removeItem)]
    pub fn remove_item(&self, index: usize) -> Result<usize, JsError> {
        self.session_mut(|s| s.remove_item(index)).map_err(err)
    }

    /// Forget every item.
    #[wasm_bindgen(js_name = clearItems)]
    pub fn clear_items(&self) {
        self.session_mut(Session::clear_items);
    }

    /// The session's fine-tuning options: `{ loss, learningRate, batchSize, steps }`.
    #[wasm_bindgen(getter, unchecked_return_type = "Options")]
    pub fn options(&self) -> Result<JsValue, JsError> {
        to_js(&self.session(|s| s.options().clone()))
    }

    /// Change some options (`{ loss?, learningRate?, batchSize?, steps? }`); one out of
    /// its bounds throws and nothing changes. Returns all the options.
    #[wasm_bindgen(js_name = setOptions, unchecked_return_type = "Options")]
    pub fn set_options(&self, #[wasm_bindgen(unchecked_param_type = "OptionsUpdate")] update: JsValue) -> Result<JsValue, JsError> {
        let update: OptionsUpdate = options(update)?;
        let options = self.session_mut(|s| s.set_options(&update).cloned()).map_err(err)?;
        to_js(&options)
    }

    /// One fine-tuning step with the session's options; resolves to its loss. A step
    /// that diverges is undone and throws. The weights stay on the device:
    /// `syncWeights()` brings them to `exportWeights()`.
    #[wasm_bindgen(js_name = trainStep)]
    pub async fn train_step(&self) -> Result<f32, JsError> {
        gpu::train_step(&self.runtime).await.map_err(err)
    }

    /// Read the fine-tuned weights back from the device (one read, async: WebGPU
    /// allows no other), so `exportWeights()` and a later fallback have them.
    #[wasm_bindgen(js_name = syncWeights)]
    pub async fn sync_weights(&self) -> Result<(), JsError> {
        gpu::sync(&self.runtime).await.map_err(err)
    }

    /// Back to the shipped weights (items and options are kept).
    pub fn reset(&self) {
        self.session_mut(Session::reset);
    }

    /// The current weights as a file. On the CPU this reads fine-tuned weights
    /// directly; on WebGPU call `await syncWeights()` first after training.
    #[wasm_bindgen(js_name = exportWeights)]
    pub fn export_weights(&self) -> Result<Vec<u8>, JsError> {
        let mut runtime = self.runtime.borrow_mut();
        let on_cpu = runtime.on_cpu();
        runtime.session.weights_file(on_cpu).map_err(err)
    }

    /// Load weights exported earlier. A bad file throws and the current model stays.
    #[wasm_bindgen(js_name = importWeights)]
    pub fn import_weights(&self, bytes: Vec<u8>) -> Result<(), JsError> {
        self.session_mut(|s| s.import_weights(bytes)).map_err(err)
    }

    /// The whole session — weights, items, options, steps — as one file.
    #[wasm_bindgen(js_name = exportSession)]
    pub async fn export_session(&self) -> Result<Vec<u8>, JsError> {
        gpu::sync(&self.runtime).await.map_err(err)?;
        let mut runtime = self.runtime.borrow_mut();
        let on_cpu = runtime.on_cpu();
        runtime.session.to_bytes(on_cpu).map_err(err)
    }

    /// Replace the whole session with one from `exportSession()`, or throw and change
    /// nothing. Returns `{ setAside }`: `null`, or the fine-tuned weights of a session
    /// saved under another release (the shipped ones are in use instead) as
    /// `{ weights: Uint8Array, release, steps }`.
    #[wasm_bindgen(js_name = openSession, unchecked_return_type = "Opened")]
    pub fn open_session(&self, bytes: Vec<u8>) -> Result<JsValue, JsError> {
        let opened = self.session_mut(|s| s.open(&bytes)).map_err(err)?;
        let set_aside = match opened.set_aside {
            None => JsValue::NULL,
            Some(a) => object(&[("weights", js_sys::Uint8Array::from(&a.weights[..]).into()), ("release", a.release.into()), ("steps", a.steps.into())])?,
        };
        object(&[("setAside", set_aside)])
    }
}
