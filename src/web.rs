//! The JavaScript API (the crate's only `#[wasm_bindgen]` code): an [`Engine`] that
//! checks what JS hands it, runs the network and converts results and errors. The
//! CPU module runs burn-ndarray; the WebGPU module (cargo feature `webgpu`) runs
//! burn-wgpu where the browser has an adapter and moves to the CPU — weights and
//! all — whenever the GPU path fails. The GPU's lifecycle is in [`crate::gpu`], the
//! studio's training set in [`crate::studio`].

use std::cell::RefCell;
use std::rc::Rc;

use burn::tensor::{Device, Tensor, TensorData};
use js_sys::{Function, Reflect};
use serde::Deserialize;
use wasm_bindgen::prelude::*;

use crate::backend::cpu;
use crate::data::Dataset;
use crate::distance::{self, euclidean_host};
use crate::metrics;
use crate::model::{IMAGE_PIXELS, IMAGE_SIDE, SiameseNetwork};
use crate::preprocess::{rgba_to_gray, to_mnist};
use crate::projection::Pca;
use crate::strokes;
use crate::studio::{Studio, check_image};
use crate::train::{LossKind, TrainConfig, Trainer};
use crate::weights::{self, Header};

/// Training digits mixed into every fine-tuning batch so the model keeps the rest.
const REPLAY: &[u8] = include_bytes!("../weights/replay.bin");
/// Held-out digits for before/after scores and browser tests.
const VALIDATION: &[u8] = include_bytes!("../weights/validation.bin");

fn err(message: impl std::fmt::Display) -> JsError {
    JsError::new(&message.to_string())
}

/// A 784-value image from JS, checked.
fn image(values: &[f32], what: &str) -> Result<(), JsError> {
    check_image(values, what).map_err(err)
}

thread_local! {
    /// The last panic's message: `panic = "abort"` then traps the instance, whose
    /// memory still holds this for [`Engine::last_panic`].
    static LAST_PANIC: RefCell<Option<String>> = const { RefCell::new(None) };
    /// [`Engine::release`], worked out once: it rebuilds the shipped weights file.
    static RELEASE: String = format!("{:08x}", crc32fast::hash(&weights::shipped()));
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

fn check_embedding(embedding: &[f32], size: usize) -> Result<(), JsError> {
    if embedding.len() != size {
        return Err(err(format!("expected an embedding of {size} values, got {}", embedding.len())));
    }
    if let Some(i) = embedding.iter().position(|v| !v.is_finite()) {
        return Err(err(format!("value {i} is not a finite number")));
    }
    Ok(())
}

fn images_tensor(flat: Vec<f32>, device: &Device) -> Tensor<4> {
    let n = flat.len() / IMAGE_PIXELS;
    Tensor::from_data(TensorData::new(flat, [n, 1, IMAGE_SIDE, IMAGE_SIDE]), device)
}

/// Read a result back. burn-ndarray computes eagerly, so on the CPU the data is
/// already there and a plain read avoids the async path; WebGPU must be awaited
/// (a synchronous read panics there).
async fn read(tensor: Tensor<1>, on_cpu: bool) -> Result<Vec<f32>, String> {
    let data = if on_cpu {
        tensor.into_data()
    } else {
        tensor.into_data_async().await.map_err(|e| tidy(&e.to_string()))?
    };
    data.try_to_vec::<f32>().map_err(|e| format!("{e:?}"))
}

/// burn's errors repeat their causes over several lines and end with a backtrace:
/// keep the distinct causes, on one line.
fn tidy(message: &str) -> String {
    let mut parts: Vec<&str> = Vec::new();
    for line in message.lines().map(str::trim) {
        if line.starts_with("Backtrace") || line.starts_with("No backtrace") {
            break;
        }
        if !line.is_empty() && line != "Caused by:" && parts.last() != Some(&line) && !parts.contains(&line) {
            parts.push(line);
        }
    }
    parts.join(": ")
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct CreateOptions {
    backend: Option<String>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct StepOptions {
    loss: Option<String>,
    learning_rate: Option<f64>,
    batch_size: Option<usize>,
}

struct State {
    backend: &'static str,
    device: Device,
    /// Inference copy of the current weights on `device`.
    model: SiameseNetwork,
    header: Header,
    /// The weights as a file: what export returns, and what the CPU reloads when
    /// the GPU fails (a lost device cannot be read any more). Behind the model
    /// while `stale` (training steps since the last `syncWeights`).
    bytes: Vec<u8>,
    stale: bool,
    fallback_reason: Option<String>,
    trainer: Option<Trainer>,
    training: bool,
    studio: Studio,
    /// The bundled validation digits, decoded once.
    validation: Rc<Dataset>,
    on_fallback: Option<Function>,
    /// The map's projection and the bundled digits' embeddings it was fitted on.
    map: Option<(Pca, Vec<f32>)>,
    /// Bumped whenever the weights are replaced, so a training step that was in
    /// flight meanwhile can tell its result is stale.
    generation: u64,
}

/// The Siamese network, ready to answer the page.
#[wasm_bindgen]
pub struct Engine {
    state: Rc<RefCell<State>>,
}

impl State {
    fn load(&mut self, bytes: Vec<u8>) -> Result<(), String> {
        let (model, header) = weights::from_bytes(&bytes, &self.device).map_err(|e| e.to_string())?;
        self.model = model;
        self.header = header;
        self.bytes = bytes;
        self.stale = false;
        self.trainer = None;
        self.generation += 1;
        Ok(())
    }

    fn on_cpu(&self) -> bool {
        self.backend == "cpu"
    }

    /// Leave the GPU for good: reload the last synced weights on the CPU. Returns
    /// the notice for JS, to deliver once the state is no longer borrowed (the
    /// callback may well read the engine).
    fn fall_back(&mut self, reason: String) -> Option<(Function, String)> {
        if self.on_cpu() {
            return None;
        }
        let reason = if self.stale { format!("{reason}; training steps since the last saved weights were lost") } else { reason };
        self.backend = "cpu";
        self.device = cpu();
        let bytes = std::mem::take(&mut self.bytes);
        self.load(bytes).expect("weights that loaded once load again");
        self.fallback_reason = Some(reason.clone());
        self.on_fallback.clone().map(|callback| (callback, reason))
    }
}

fn notify(notice: Option<(Function, String)>) {
    if let Some((callback, reason)) = notice {
        let _ = callback.call1(&JsValue::NULL, &JsValue::from_str(&reason));
    }
}

/// Run `compute` on the current backend; if a GPU read fails, fall back to the CPU
/// and run it again there.
async fn on_backend(state: &Rc<RefCell<State>>, compute: impl Fn(&State) -> Tensor<1>) -> Result<Vec<f32>, JsError> {
    let (tensor, on_cpu) = {
        let s = state.borrow();
        (compute(&s), s.on_cpu())
    };
    match read(tensor, on_cpu).await {
        Ok(values) => Ok(values),
        Err(e) if on_cpu => Err(err(format!("computation failed: {e}"))),
        Err(e) => {
            // No borrow may live across an await: other calls run meanwhile.
            let notice = state.borrow_mut().fall_back(format!("the GPU failed ({e}); moved to the CPU"));
            notify(notice);
            let tensor = compute(&state.borrow());
            read(tensor, true).await.map_err(|e| err(format!("computation failed: {e}")))
        }
    }
}

impl Engine {
    fn validation(&self) -> Rc<Dataset> {
        self.state.borrow().validation.clone()
    }

    /// Embeddings of `n` checked images (`n × 784`), flattened `n × embedding`.
    async fn embed_checked(&self, images: Vec<f32>) -> Result<Vec<f32>, JsError> {
        on_backend(&self.state, |s| s.model.embed(images_tensor(images.clone(), &s.device)).flatten(0, 1)).await
    }

    /// Both images' embeddings, `a ‖ b`, in one read. The CPU embeds them as one
    /// batch of two; the GPU runs the encoder once per image (the Siamese
    /// `forward`): without autotune, burn's matmul switches to a tiled
    /// shared-memory kernel at two rows, which a software adapter (SwiftShader)
    /// runs far slower — a pair took 46 ms as one batch there, 19 ms as two.
    async fn embed_pair(&self, a: &[f32], b: &[f32]) -> Result<Vec<f32>, JsError> {
        image(a, "first image")?;
        image(b, "second image")?;
        on_backend(&self.state, |s| {
            let embeddings = if s.on_cpu() {
                s.model.embed(images_tensor([a, b].concat(), &s.device))
            } else {
                let (ea, eb) = s.model.forward(images_tensor(a.to_vec(), &s.device), images_tensor(b.to_vec(), &s.device));
                Tensor::cat(vec![ea, eb], 0)
            };
            embeddings.flatten(0, 1)
        })
        .await
    }
}

#[wasm_bindgen]
impl Engine {
    /// `Engine.create({ backend: 'auto' | 'webgpu' | 'cpu' })`.
    pub async fn create(options: JsValue) -> Result<Engine, JsError> {
        let options: CreateOptions = if options.is_undefined() || options.is_null() {
            CreateOptions::default()
        } else {
            serde_wasm_bindgen::from_value(options).map_err(|e| err(format!("bad options: {e}")))?
        };
        let wanted = options.backend.as_deref().unwrap_or("auto");
        let (backend, device, fallback_reason) = match wanted {
            "cpu" => ("cpu", cpu(), None),
            "auto" | "webgpu" => match crate::gpu::device().await {
                Ok(device) => ("webgpu", device, None),
                Err(reason) => ("cpu", cpu(), Some(reason)),
            },
            other => return Err(err(format!("unknown backend `{other}` (expected auto, webgpu or cpu)"))),
        };
        let (model, header) = weights::from_bytes(&weights::shipped(), &device).map_err(err)?;
        let replay = Dataset::from_bytes(REPLAY).map_err(err)?;
        let validation = Rc::new(Dataset::from_bytes(VALIDATION).map_err(err)?);
        let state = Rc::new(RefCell::new(State {
            backend,
            device,
            model,
            header,
            bytes: weights::shipped(),
            stale: false,
            fallback_reason,
            trainer: None,
            training: false,
            studio: Studio::new(replay, 0),
            validation,
            on_fallback: None,
            map: None,
            generation: 0,
        }));
        let engine = Engine { state };
        // One real computation: a GPU that cannot run our kernels is found now.
        engine.embed_checked(vec![0.0; IMAGE_PIXELS]).await?;
        Ok(engine)
    }

    /// The message of the panic that stopped this module's instance, if one did
    /// (its calls then throw `RuntimeError: unreachable`; start a new instance).
    #[wasm_bindgen(js_name = lastPanic)]
    pub fn last_panic() -> Option<String> {
        LAST_PANIC.with(|last| last.try_borrow().ok().and_then(|m| m.clone()))
    }

    /// Which shipped weights this build carries (their checksum, 8 hex digits): saved
    /// fine-tuned weights remember it, so a new release can be told apart.
    #[wasm_bindgen(getter)]
    pub fn release(&self) -> String {
        RELEASE.with(Clone::clone)
    }

    /// Testing aid: panic, as a bug would (the instance then traps; see `lastPanic`).
    #[wasm_bindgen(js_name = testPanic)]
    pub fn test_panic() {
        panic!("a test panic, asked for by the page's testing aid");
    }

    /// What is really running: `"webgpu"` or `"cpu"`.
    #[wasm_bindgen(getter)]
    pub fn backend(&self) -> String {
        self.state.borrow().backend.to_string()
    }

    /// Whether this module can run on WebGPU at all (the WebGPU module can, the
    /// CPU module cannot).
    #[wasm_bindgen(js_name = hasWebGpu)]
    pub fn has_webgpu() -> bool {
        cfg!(feature = "webgpu")
    }

    /// Destroy the page's WebGPU device, as a driver reset or a GPU that goes away
    /// would: engines on WebGPU then move to the CPU on their next call. For tests
    /// and for trying the fallback by hand; does nothing without a GPU device.
    #[wasm_bindgen(js_name = destroyGpuDevice)]
    pub fn destroy_gpu_device() {
        crate::gpu::destroy();
    }

    /// Why the engine is on the CPU although WebGPU was wanted, if it is.
    #[wasm_bindgen(getter, js_name = fallbackReason)]
    pub fn fallback_reason(&self) -> Option<String> {
        self.state.borrow().fallback_reason.clone()
    }

    /// Called with the reason whenever the engine moves from WebGPU to the CPU.
    #[wasm_bindgen(js_name = onFallback)]
    pub fn on_fallback(&self, callback: Option<Function>) {
        self.state.borrow_mut().on_fallback = callback;
    }

    /// The calibrated "same digit" distance: below it, two digits are judged the same.
    #[wasm_bindgen(getter)]
    pub fn threshold(&self) -> f32 {
        self.state.borrow().header.threshold
    }

    /// Name of the loaded architecture (`default`, `seed`).
    #[wasm_bindgen(getter)]
    pub fn preset(&self) -> String {
        self.state.borrow().header.preset.clone()
    }

    /// Size of the embeddings.
    #[wasm_bindgen(getter, js_name = embeddingSize)]
    pub fn embedding_size(&self) -> usize {
        self.state.borrow().header.config.embedding
    }

    /// RGBA canvas pixels (`ImageData.data`) → the 28×28 image the network sees.
    pub fn preprocess(&self, rgba: &[u8], width: usize, height: usize) -> Result<Vec<f32>, JsError> {
        let gray = rgba_to_gray(rgba, width, height).map_err(err)?;
        Ok(to_mnist(&gray, width, height).map_err(err)?.to_vec())
    }

    /// A drawing's pen strokes → the 28×28 image the network sees, the same at any
    /// size or position: `xy` holds x0, y0, x1, y1, … (any unit, y down) and
    /// `ends[k]` counts the points up to the end of stroke `k`.
    #[wasm_bindgen(js_name = preprocessStrokes)]
    pub fn preprocess_strokes(&self, xy: &[f32], ends: &[u32]) -> Result<Vec<f32>, JsError> {
        Ok(strokes::to_mnist(xy, ends).map_err(err)?.to_vec())
    }

    /// Euclidean distance between the embeddings of two 784-value images (one read).
    pub async fn distance(&self, a: Vec<f32>, b: Vec<f32>) -> Result<f32, JsError> {
        let both = self.embed_pair(&a, &b).await?;
        let (ea, eb) = both.split_at(both.len() / 2);
        Ok(euclidean_host(ea, eb))
    }

    /// Both embeddings and their distance, in one read:
    /// `{ distance, a: Float32Array, b: Float32Array }`.
    pub async fn compare(&self, a: Vec<f32>, b: Vec<f32>) -> Result<JsValue, JsError> {
        let both = self.embed_pair(&a, &b).await?;
        let (ea, eb) = both.split_at(both.len() / 2);
        let result = js_sys::Object::new();
        let set = |key: &str, value: JsValue| Reflect::set(&result, &key.into(), &value).map(|_| ());
        set("distance", euclidean_host(ea, eb).into())
            .and_then(|_| set("a", js_sys::Float32Array::from(ea).into()))
            .and_then(|_| set("b", js_sys::Float32Array::from(eb).into()))
            .map_err(|_| err("could not build the result object"))?;
        Ok(result.into())
    }

    /// The embedding of one 784-value image.
    pub async fn embed(&self, a: Vec<f32>) -> Result<Vec<f32>, JsError> {
        image(&a, "image")?;
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
        let set = self.validation();
        let pairs = crate::data::protocol_pairs(&set, usize::MAX, 0);
        let embeddings = self.embed_checked(set.images.clone()).await?;
        let distances = metrics::pair_distances(&embeddings, self.embedding_size(), pairs.iter().map(|p| (p.0, p.1)));
        let same: Vec<bool> = pairs.iter().map(|p| p.2).collect();
        Ok(metrics::pair_accuracy(&distances, &same, self.threshold()))
    }

    /// The embedding map: embeds the bundled validation digits, fits a PCA to them
    /// and resolves to their 2-D positions `[x0, y0, x1, y1, …]` (labels: `validationLabels()`).
    /// Call again after fine-tuning to redraw the map for the new weights.
    #[wasm_bindgen(js_name = referenceMap)]
    pub async fn reference_map(&self) -> Result<Vec<f32>, JsError> {
        let embeddings = self.embed_checked(self.validation().images.clone()).await?;
        let dim = self.embedding_size();
        let pca = Pca::fit(&embeddings, dim);
        let points = embeddings.chunks_exact(dim).flat_map(|e| pca.project(e)).collect();
        self.state.borrow_mut().map = Some((pca, embeddings));
        Ok(points)
    }

    /// Where an embedding falls on the map of the last `referenceMap()`: `[x, y]`.
    pub fn project(&self, embedding: Vec<f32>) -> Result<Vec<f32>, JsError> {
        let s = self.state.borrow();
        let (pca, _) = s.map.as_ref().ok_or_else(|| err("call referenceMap() before project()"))?;
        check_embedding(&embedding, s.header.config.embedding)?;
        Ok(pca.project(&embedding).to_vec())
    }

    /// The labels of the `k` bundled digits of the last `referenceMap()` nearest to an
    /// embedding, nearest first: the map's text summary.
    pub fn nearest(&self, embedding: Vec<f32>, k: usize) -> Result<Vec<u8>, JsError> {
        let s = self.state.borrow();
        let (_, embeddings) = s.map.as_ref().ok_or_else(|| err("call referenceMap() before nearest()"))?;
        let dim = s.header.config.embedding;
        check_embedding(&embedding, dim)?;
        Ok(distance::nearest(embeddings, dim, &embedding, k).into_iter().map(|i| s.validation.labels[i]).collect())
    }

    /// Pair accuracy at the threshold on the user's own data: every pair of labelled
    /// examples plus every marked pair. `NaN` when there is no pair yet.
    #[wasm_bindgen(js_name = userAccuracy)]
    pub async fn user_accuracy(&self) -> Result<f64, JsError> {
        let Some(user) = self.state.borrow().studio.user_pairs() else {
            return Ok(f64::NAN);
        };
        let embeddings = self.embed_checked(user.images).await?;
        let distances = metrics::pair_distances(&embeddings, self.embedding_size(), user.pairs.iter().map(|p| (p.0, p.1)));
        let same: Vec<bool> = user.pairs.iter().map(|p| p.2).collect();
        Ok(metrics::pair_accuracy(&distances, &same, self.threshold()))
    }

    /// Add a drawn digit with its label to the fine-tuning set; returns the set's size.
    #[wasm_bindgen(js_name = addExample)]
    pub fn add_example(&self, image_values: Vec<f32>, label: u8) -> Result<usize, JsError> {
        self.state.borrow_mut().studio.add_example(&image_values, label).map_err(err)
    }

    /// Add a pair marked same / different; returns how many pairs there are.
    #[wasm_bindgen(js_name = addPair)]
    pub fn add_pair(&self, a: Vec<f32>, b: Vec<f32>, same: bool) -> Result<usize, JsError> {
        self.state.borrow_mut().studio.add_pair(&a, &b, same).map_err(err)
    }

    /// Remove labelled example `index`.
    #[wasm_bindgen(js_name = removeExample)]
    pub fn remove_example(&self, index: usize) -> Result<(), JsError> {
        self.state.borrow_mut().studio.remove_example(index).map_err(err)
    }

    /// Remove pair `index`.
    #[wasm_bindgen(js_name = removePair)]
    pub fn remove_pair(&self, index: usize) -> Result<(), JsError> {
        self.state.borrow_mut().studio.remove_pair(index).map_err(err)
    }

    /// Forget every example and pair.
    #[wasm_bindgen(js_name = clearExamples)]
    pub fn clear_examples(&self) {
        self.state.borrow_mut().studio.clear();
    }

    #[wasm_bindgen(getter, js_name = exampleCount)]
    pub fn example_count(&self) -> usize {
        self.state.borrow().studio.example_count()
    }

    #[wasm_bindgen(getter, js_name = pairCount)]
    pub fn pair_count(&self) -> usize {
        self.state.borrow().studio.pair_count()
    }

    /// One fine-tuning step: `{ loss: 'contrastive' | 'triplet', learningRate, batchSize }`.
    /// Half the batch comes from the user's examples, half from the replay sample;
    /// the convolution stages stay frozen. Resolves to the step's loss; a step that
    /// diverges is undone and throws. The weights stay on the device: `syncWeights()`
    /// brings them to `exportWeights()`.
    #[wasm_bindgen(js_name = trainStep)]
    pub async fn train_step(&self, options: JsValue) -> Result<f32, JsError> {
        let options: StepOptions = if options.is_undefined() || options.is_null() {
            StepOptions::default()
        } else {
            serde_wasm_bindgen::from_value(options).map_err(|e| err(format!("bad options: {e}")))?
        };
        let loss: LossKind = options.loss.as_deref().unwrap_or("contrastive").parse().map_err(err)?;
        let lr = options.learning_rate.unwrap_or(1e-4);
        if !(lr.is_finite() && lr > 0.0) {
            return Err(err(format!("the learning rate must be a positive number, got {lr}")));
        }
        let batch_size = options.batch_size.unwrap_or(32);
        if !(2..=512).contains(&batch_size) {
            return Err(err(format!("the batch size must be between 2 and 512, got {batch_size}")));
        }
        let generation;
        let (step, values, on_cpu) = {
            let mut s = self.state.borrow_mut();
            if s.training {
                return Err(err("a training step is already running"));
            }
            let batch = s.studio.batch(loss, batch_size).map_err(err)?;
            if s.trainer.as_ref().is_none_or(|t| t.config.loss != loss) {
                let margin = if loss == LossKind::Triplet { 0.5 } else { 1.0 };
                // Only the fully connected layers adapt: a few drawings should bend the
                // metric, not relearn strokes (and the step gets ~10× cheaper).
                let config = TrainConfig::new()
                    .with_loss(loss)
                    .with_margin(margin)
                    .with_batch_size(batch_size)
                    .with_freeze_features(true);
                s.trainer = Some(Trainer::new(s.model.clone(), config, &s.device.clone()));
            }
            s.training = true;
            generation = s.generation;
            let step = s.trainer.as_mut().map(|t| t.step(&batch, lr)).expect("a trainer was just made");
            let values = step.values.clone();
            (step, values, s.on_cpu())
        };
        let read_values = read(values, on_cpu).await;
        // The borrow ends before any await: other calls run meanwhile.
        let notice = {
            let mut s = self.state.borrow_mut();
            s.training = false;
            match read_values {
                Ok(values) => {
                    // reset() or importWeights() while the step ran replaced the model: drop the step.
                    if s.generation != generation {
                        return Err(err("the model was replaced while this training step ran; the step was discarded"));
                    }
                    let trainer = s.trainer.as_mut().expect("the trainer of this generation");
                    let loss = trainer.settle(step, &values).map_err(err)?;
                    let model = trainer.inference_model();
                    s.model = model;
                    s.stale = true;
                    return Ok(loss);
                }
                Err(e) => {
                    s.trainer = None; // its weights live on the lost GPU
                    s.fall_back(format!("the GPU failed during training ({e}); moved to the CPU"))
                }
            }
        };
        notify(notice);
        Err(err("the GPU failed during this training step; the engine moved to the CPU with the last saved weights — run the step again"))
    }

    /// Read the fine-tuned weights back from the device (one read, async: WebGPU
    /// allows no other), so `exportWeights()` and a later fallback have them.
    #[wasm_bindgen(js_name = syncWeights)]
    pub async fn sync_weights(&self) -> Result<(), JsError> {
        let (model, header, generation) = {
            let s = self.state.borrow();
            if !s.stale {
                return Ok(());
            }
            (s.model.clone(), s.header.clone(), s.generation)
        };
        let bytes = weights::to_bytes_async(&model, &header.preset, &header.config, header.threshold, "fine-tuned in the browser").await.map_err(err)?;
        let mut s = self.state.borrow_mut();
        if s.generation == generation {
            s.bytes = bytes;
            s.stale = false;
        }
        Ok(())
    }

    /// Back to the shipped weights (examples are kept).
    pub fn reset(&self) -> Result<(), JsError> {
        self.state.borrow_mut().load(weights::shipped()).map_err(err)
    }

    /// The current weights as a file. On the CPU this reads fine-tuned weights
    /// directly; on WebGPU call `await syncWeights()` first after training.
    #[wasm_bindgen(js_name = exportWeights)]
    pub fn export_weights(&self) -> Result<Vec<u8>, JsError> {
        let mut s = self.state.borrow_mut();
        if s.stale {
            if !s.on_cpu() {
                return Err(err("the fine-tuned weights are still on the GPU: await engine.syncWeights() first"));
            }
            let h = s.header.clone();
            s.bytes = weights::to_bytes(&s.model, &h.preset, &h.config, h.threshold, "fine-tuned in the browser");
            s.stale = false;
        }
        Ok(s.bytes.clone())
    }

    /// Load weights exported earlier. A bad file throws and the current model stays.
    #[wasm_bindgen(js_name = importWeights)]
    pub fn import_weights(&self, bytes: Vec<u8>) -> Result<(), JsError> {
        self.state.borrow_mut().load(bytes).map_err(err)
    }
}
