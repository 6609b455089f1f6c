//! The JavaScript API (the crate's only `#[wasm_bindgen]` code): an [`Engine`] that
//! runs on WebGPU when the browser has an adapter and on burn-ndarray otherwise,
//! moving to the CPU — weights and all — whenever the GPU path fails.

use std::cell::RefCell;
use std::rc::Rc;

use burn::tensor::{Device, Tensor, TensorData};
use js_sys::{Function, Promise, Reflect};
use serde::Deserialize;
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;

use crate::backend::cpu;
use crate::data::{Dataset, Rng, Sampler};
use crate::distance::{euclidean, euclidean_host};
use crate::metrics;
use crate::model::{IMAGE_PIXELS, IMAGE_SIDE, SiameseNetwork};
use crate::preprocess::{rgba_to_gray, to_mnist};
use crate::projection::Pca;
use crate::train::{Batch, LossKind, TrainConfig, Trainer};
use crate::weights::{self, Header, SHIPPED};

/// Training digits mixed into every fine-tuning batch so the model keeps the rest.
const REPLAY: &[u8] = include_bytes!("../weights/replay.bin");
/// Held-out digits for before/after scores and browser tests.
const VALIDATION: &[u8] = include_bytes!("../weights/validation.bin");

fn err(message: impl std::fmt::Display) -> JsError {
    JsError::new(&message.to_string())
}

/// A 784-value image from JS, checked.
fn image(values: &[f32], what: &str) -> Result<Vec<f32>, JsError> {
    if values.len() != IMAGE_PIXELS {
        return Err(err(format!(
            "{what}: expected {IMAGE_PIXELS} values (a {IMAGE_SIDE}×{IMAGE_SIDE} image), got {}",
            values.len()
        )));
    }
    if let Some(i) = values.iter().position(|v| !v.is_finite()) {
        return Err(err(format!("{what}: value {i} is not a finite number")));
    }
    Ok(values.to_vec())
}

fn images_tensor(flat: Vec<f32>, device: &Device) -> Tensor<4> {
    let n = flat.len() / IMAGE_PIXELS;
    Tensor::from_data(TensorData::new(flat, [n, 1, IMAGE_SIDE, IMAGE_SIDE]), device)
}

async fn read(tensor: Tensor<1>) -> Result<Vec<f32>, String> {
    let data = tensor.into_data_async().await.map_err(|e| tidy(&e.to_string()))?;
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

/// The WebGPU device, initialised at most once per page (a second `init_async`
/// fails), or why there is none.
#[derive(Clone)]
enum Gpu {
    Untried,
    Starting,
    /// The burn device, and wgpu's handle to the same GPU device (to destroy it in tests).
    Ready(Device, burn::tensor::wgpu::wgpu::Device),
    Unavailable(String),
}

thread_local! {
    static GPU: RefCell<Gpu> = const { RefCell::new(Gpu::Untried) };
}

async fn sleep(ms: i32) {
    let promise = Promise::new(&mut |resolve, _| {
        let global = js_sys::global();
        let set_timeout: Function = Reflect::get(&global, &"setTimeout".into()).unwrap().into();
        let _ = set_timeout.call2(&global, &resolve, &ms.into());
    });
    let _ = JsFuture::from(promise).await;
}

/// Ask the browser for an adapter first, so "no WebGPU" is a clear reason rather
/// than an opaque runtime error.
async fn probe_adapter() -> Result<(), String> {
    let navigator = Reflect::get(&js_sys::global(), &"navigator".into()).map_err(|_| "no navigator")?;
    let gpu = Reflect::get(&navigator, &"gpu".into()).unwrap_or(JsValue::UNDEFINED);
    if gpu.is_undefined() || gpu.is_null() {
        return Err("this browser has no WebGPU (navigator.gpu is missing)".into());
    }
    let request: Function = Reflect::get(&gpu, &"requestAdapter".into())
        .map_err(|_| "navigator.gpu.requestAdapter is missing")?
        .into();
    let promise: Promise = request.call0(&gpu).map_err(|e| format!("requestAdapter failed: {e:?}"))?.into();
    let adapter = JsFuture::from(promise).await.map_err(|e| format!("requestAdapter failed: {e:?}"))?;
    if adapter.is_null() || adapter.is_undefined() {
        return Err("no WebGPU adapter is available".into());
    }
    Ok(())
}

async fn gpu_device() -> Result<Device, String> {
    loop {
        let state = GPU.with(|g| g.borrow().clone());
        match state {
            Gpu::Ready(device, _) => return Ok(device),
            Gpu::Unavailable(reason) => return Err(reason),
            Gpu::Starting => sleep(10).await,
            Gpu::Untried => break,
        }
    }
    GPU.with(|g| *g.borrow_mut() = Gpu::Starting);
    let result = match probe_adapter().await {
        Err(reason) => Err(reason),
        Ok(()) => Device::wgpu_options()
            .init_with_setup_async()
            .await
            .map_err(|e| format!("WebGPU initialisation failed: {e}")),
    };
    GPU.with(|g| {
        *g.borrow_mut() = match &result {
            Ok((device, setup)) => Gpu::Ready(device.clone(), setup.device.clone()),
            Err(reason) => Gpu::Unavailable(reason.clone()),
        }
    });
    result.map(|(device, _)| device)
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
    /// The current weights as a file: what export returns, and what the CPU
    /// reloads when the GPU fails (a lost device cannot be read any more).
    bytes: Vec<u8>,
    fallback_reason: Option<String>,
    trainer: Option<Trainer>,
    training: bool,
    examples: Dataset,
    pairs: Vec<(Vec<f32>, Vec<f32>, bool)>,
    replay: Dataset,
    /// The bundled validation digits, decoded once.
    validation: Rc<Dataset>,
    rng: Rng,
    on_fallback: Option<Function>,
    map: Option<Pca>,
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
        self.trainer = None;
        self.generation += 1;
        Ok(())
    }

    /// Leave the GPU for good: reload the current weights on the CPU. Returns the
    /// notice for JS, to deliver once the state is no longer borrowed (the
    /// callback may well read the engine).
    fn fall_back(&mut self, reason: String) -> Option<(Function, String)> {
        if self.backend == "cpu" {
            return None;
        }
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
async fn on_backend<T>(state: &Rc<RefCell<State>>, compute: impl Fn(&State) -> Tensor<1>, finish: impl Fn(Vec<f32>) -> T) -> Result<T, JsError> {
    let tensor = compute(&state.borrow());
    match read(tensor).await {
        Ok(values) => Ok(finish(values)),
        Err(e) => {
            // No borrow may live across an await: other calls run meanwhile.
            let notice = {
                let mut s = state.borrow_mut();
                if s.backend == "cpu" {
                    return Err(err(format!("computation failed: {e}")));
                }
                s.fall_back(format!("the GPU failed ({e}); moved to the CPU"))
            };
            notify(notice);
            let tensor = compute(&state.borrow());
            let values = read(tensor).await.map_err(|e| err(format!("computation failed: {e}")))?;
            Ok(finish(values))
        }
    }
}

impl Engine {
    fn validation(&self) -> Rc<Dataset> {
        self.state.borrow().validation.clone()
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
            "auto" | "webgpu" => match gpu_device().await {
                Ok(device) => ("webgpu", device, None),
                Err(reason) => ("cpu", cpu(), Some(reason)),
            },
            other => return Err(err(format!("unknown backend `{other}` (expected auto, webgpu or cpu)"))),
        };
        let (model, header) = weights::from_bytes(SHIPPED, &device).map_err(err)?;
        let replay = Dataset::from_bytes(REPLAY).map_err(err)?;
        let validation = Rc::new(Dataset::from_bytes(VALIDATION).map_err(err)?);
        let state = Rc::new(RefCell::new(State {
            backend,
            device,
            model,
            header,
            bytes: SHIPPED.to_vec(),
            fallback_reason,
            trainer: None,
            training: false,
            examples: Dataset::default(),
            pairs: Vec::new(),
            replay,
            validation,
            rng: Rng::new(0),
            on_fallback: None,
            map: None,
            generation: 0,
        }));
        let engine = Engine { state };
        // One real computation: a GPU that cannot run our kernels is found now.
        engine.embed(vec![0.0; IMAGE_PIXELS]).await?;
        Ok(engine)
    }

    /// What is really running: `"webgpu"` or `"cpu"`.
    #[wasm_bindgen(getter)]
    pub fn backend(&self) -> String {
        self.state.borrow().backend.to_string()
    }

    /// Destroy the page's WebGPU device, as a driver reset or a GPU that goes away
    /// would: engines on WebGPU then move to the CPU on their next call. For tests
    /// and for trying the fallback by hand; does nothing without a GPU device.
    #[wasm_bindgen(js_name = destroyGpuDevice)]
    pub fn destroy_gpu_device() {
        GPU.with(|g| {
            if let Gpu::Ready(_, device) = &*g.borrow() {
                device.destroy();
            }
        });
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

    /// Euclidean distance between the embeddings of two 784-value images.
    pub async fn distance(&self, a: Vec<f32>, b: Vec<f32>) -> Result<f32, JsError> {
        let (a, b) = (image(&a, "first image")?, image(&b, "second image")?);
        on_backend(
            &self.state,
            |s| {
                let (ea, eb) = s.model.forward(images_tensor(a.clone(), &s.device), images_tensor(b.clone(), &s.device));
                euclidean(ea, eb)
            },
            |v| v[0],
        )
        .await
    }

    /// Both embeddings and their distance in one pass over the network (the page's
    /// live update): `{ distance, a: Float32Array, b: Float32Array }`.
    pub async fn compare(&self, a: Vec<f32>, b: Vec<f32>) -> Result<JsValue, JsError> {
        let mut both = image(&a, "first image")?;
        both.extend(image(&b, "second image")?);
        let embeddings = self.embed_many(both).await?;
        let (ea, eb) = embeddings.split_at(embeddings.len() / 2);
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
        let a = image(&a, "image")?;
        on_backend(&self.state, |s| s.model.embed(images_tensor(a.clone(), &s.device)).flatten(0, 1), |v| v).await
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
        on_backend(&self.state, |s| s.model.embed(images_tensor(images.clone(), &s.device)).flatten(0, 1), |v| v).await
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
        let embeddings = self.embed_many(set.images.clone()).await?;
        let distances = metrics::pair_distances(&embeddings, self.embedding_size(), pairs.iter().map(|p| (p.0, p.1)));
        let same: Vec<bool> = pairs.iter().map(|p| p.2).collect();
        Ok(metrics::pair_accuracy(&distances, &same, self.threshold()))
    }

    /// The embedding map: embeds the bundled validation digits, fits a PCA to them
    /// and resolves to their 2-D positions `[x0, y0, x1, y1, …]` (labels: `validationLabels()`).
    /// Call again after fine-tuning to redraw the map for the new weights.
    #[wasm_bindgen(js_name = referenceMap)]
    pub async fn reference_map(&self) -> Result<Vec<f32>, JsError> {
        let embeddings = self.embed_many(self.validation().images.clone()).await?;
        let dim = self.embedding_size();
        let pca = Pca::fit(&embeddings, dim);
        let points = embeddings.chunks_exact(dim).flat_map(|e| pca.project(e)).collect();
        self.state.borrow_mut().map = Some(pca);
        Ok(points)
    }

    /// Where an embedding falls on the map of the last `referenceMap()`: `[x, y]`.
    pub fn project(&self, embedding: Vec<f32>) -> Result<Vec<f32>, JsError> {
        let s = self.state.borrow();
        let pca = s.map.as_ref().ok_or_else(|| err("call referenceMap() before project()"))?;
        if embedding.len() != s.header.config.embedding {
            return Err(err(format!("expected an embedding of {} values, got {}", s.header.config.embedding, embedding.len())));
        }
        Ok(pca.project(&embedding).to_vec())
    }

    /// Pair accuracy at the threshold on the user's own data: every pair of labelled
    /// examples plus every marked pair. `NaN` when there is no pair yet.
    #[wasm_bindgen(js_name = userAccuracy)]
    pub async fn user_accuracy(&self) -> Result<f64, JsError> {
        let (examples, marked) = {
            let s = self.state.borrow();
            (s.examples.clone(), s.pairs.clone())
        };
        let mut flat = examples.images.clone();
        for (a, b, _) in &marked {
            flat.extend_from_slice(a);
            flat.extend_from_slice(b);
        }
        if flat.is_empty() {
            return Ok(f64::NAN);
        }
        let embeddings = self.embed_many(flat).await?;
        let n = examples.len();
        let (mut pairs, mut same) = (Vec::new(), Vec::new());
        for i in 0..n {
            for j in i + 1..n {
                pairs.push((i, j));
                same.push(examples.labels[i] == examples.labels[j]);
            }
        }
        for (k, (_, _, s)) in marked.iter().enumerate() {
            pairs.push((n + 2 * k, n + 2 * k + 1));
            same.push(*s);
        }
        let distances = metrics::pair_distances(&embeddings, self.embedding_size(), pairs);
        if distances.is_empty() {
            return Ok(f64::NAN);
        }
        Ok(metrics::pair_accuracy(&distances, &same, self.threshold()))
    }

    /// Add a drawn digit with its label to the fine-tuning set; returns the set's size.
    #[wasm_bindgen(js_name = addExample)]
    pub fn add_example(&self, image_values: Vec<f32>, label: u8) -> Result<usize, JsError> {
        let values = image(&image_values, "example")?;
        if label > 9 {
            return Err(err(format!("a label is a digit 0–9, got {label}")));
        }
        let mut s = self.state.borrow_mut();
        s.examples.push(&values, label);
        Ok(s.examples.len())
    }

    /// Add a pair marked same / different; returns how many pairs there are.
    #[wasm_bindgen(js_name = addPair)]
    pub fn add_pair(&self, a: Vec<f32>, b: Vec<f32>, same: bool) -> Result<usize, JsError> {
        let (a, b) = (image(&a, "first image")?, image(&b, "second image")?);
        let mut s = self.state.borrow_mut();
        s.pairs.push((a, b, same));
        Ok(s.pairs.len())
    }

    /// Remove labelled example `index`.
    #[wasm_bindgen(js_name = removeExample)]
    pub fn remove_example(&self, index: usize) -> Result<(), JsError> {
        let mut s = self.state.borrow_mut();
        if index >= s.examples.len() {
            return Err(err(format!("there is no example {index} (there are {})", s.examples.len())));
        }
        let mut kept = Dataset::default();
        for i in (0..s.examples.len()).filter(|&i| i != index) {
            kept.push(s.examples.image(i), s.examples.labels[i]);
        }
        s.examples = kept;
        Ok(())
    }

    /// Remove pair `index`.
    #[wasm_bindgen(js_name = removePair)]
    pub fn remove_pair(&self, index: usize) -> Result<(), JsError> {
        let mut s = self.state.borrow_mut();
        if index >= s.pairs.len() {
            return Err(err(format!("there is no pair {index} (there are {})", s.pairs.len())));
        }
        s.pairs.remove(index);
        Ok(())
    }

    /// Forget every example and pair.
    #[wasm_bindgen(js_name = clearExamples)]
    pub fn clear_examples(&self) {
        let mut s = self.state.borrow_mut();
        s.examples = Dataset::default();
        s.pairs.clear();
    }

    #[wasm_bindgen(getter, js_name = exampleCount)]
    pub fn example_count(&self) -> usize {
        self.state.borrow().examples.len()
    }

    #[wasm_bindgen(getter, js_name = pairCount)]
    pub fn pair_count(&self) -> usize {
        self.state.borrow().pairs.len()
    }

    /// One fine-tuning step: `{ loss: 'contrastive' | 'triplet', learningRate, batchSize }`.
    /// Half the batch comes from the user's examples, half from the replay sample;
    /// the convolution stages stay frozen.
    /// Resolves to the step's loss; a step that diverges is undone and throws.
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
        let (step, values) = {
            let mut s = self.state.borrow_mut();
            if s.training {
                return Err(err("a training step is already running"));
            }
            let batch = s.fine_tune_batch(loss, batch_size).map_err(err)?;
            let rebuild = s.trainer.as_ref().is_none_or(|t| t.config.loss != loss);
            if rebuild {
                let margin = if loss == LossKind::Triplet { 0.5 } else { 1.0 };
                // Only the fully connected layers adapt: a few drawings should bend the
                // metric, not relearn strokes (and the CPU step gets ~10× cheaper).
                let config = TrainConfig::new()
                    .with_loss(loss)
                    .with_margin(margin)
                    .with_batch_size(batch_size)
                    .with_freeze_features(true);
                s.trainer = Some(Trainer::new(s.model.clone(), config, &s.device.clone()));
            }
            s.training = true;
            generation = s.generation;
            let step = s.trainer.as_mut().unwrap().step(&batch, lr);
            let values = step.values.clone();
            (step, values)
        };
        let read_values = read(values).await;
        // reset() or importWeights() while the step ran replaced the model: drop the step.
        let replaced = || err("the model was replaced while this training step ran; the step was discarded");
        // The borrow ends before the next await: other calls run meanwhile.
        let (loss, model, header) = {
            let mut s = self.state.borrow_mut();
            s.training = false;
            let values = match read_values {
                Ok(v) => v,
                Err(e) => {
                    s.trainer = None; // its weights live on the lost GPU
                    let notice = s.fall_back(format!("the GPU failed during training ({e}); moved to the CPU"));
                    drop(s);
                    notify(notice);
                    return Err(err("the GPU failed during this training step; the engine moved to the CPU with the weights from before the step — run the step again"));
                }
            };
            let current = s.generation == generation;
            let Some(trainer) = s.trainer.as_mut().filter(|_| current) else {
                return Err(replaced());
            };
            let loss = trainer.settle(step, &values).map_err(err)?;
            let model = trainer.inference_model();
            s.model = model.clone();
            (loss, model, s.header.clone())
        };
        let bytes = weights::to_bytes_async(&model, &header.preset, &header.config, header.threshold, "fine-tuned in the browser").await.map_err(err)?;
        let mut s = self.state.borrow_mut();
        if s.generation != generation {
            return Err(replaced());
        }
        s.bytes = bytes;
        Ok(loss)
    }

    /// Back to the shipped weights (examples are kept).
    pub fn reset(&self) -> Result<(), JsError> {
        self.state.borrow_mut().load(SHIPPED.to_vec()).map_err(err)
    }

    /// The current weights as a file.
    #[wasm_bindgen(js_name = exportWeights)]
    pub fn export_weights(&self) -> Vec<u8> {
        self.state.borrow().bytes.clone()
    }

    /// Load weights exported earlier. A bad file throws and the current model stays.
    #[wasm_bindgen(js_name = importWeights)]
    pub fn import_weights(&self, bytes: Vec<u8>) -> Result<(), JsError> {
        self.state.borrow_mut().load(bytes).map_err(err)
    }
}

impl State {
    fn fine_tune_batch(&mut self, loss: LossKind, batch_size: usize) -> Result<Batch, String> {
        if self.examples.is_empty() && self.pairs.is_empty() {
            return Err("add some examples first: there is nothing to fine-tune on".into());
        }
        let seed = self.rng.next_u64();
        let user = batch_size / 2;
        let mut replay = Sampler::new(&self.replay, seed, true).map_err(|e| e.to_string())?;
        match loss {
            LossKind::Contrastive => {
                // The user's half: their marked pairs and balanced pairs of their labelled digits.
                let own_pairs = match (self.pairs.is_empty(), self.examples.is_empty()) {
                    (true, _) => 0,
                    (false, true) => user,
                    (false, false) => user / 2,
                };
                let mut batch = if own_pairs < user {
                    Sampler::new(&self.examples, seed ^ 1, true).map_err(|e| e.to_string())?.pairs(&self.examples, user - own_pairs)
                } else {
                    crate::data::PairBatch::default()
                };
                for _ in 0..own_pairs {
                    let (a, b, same) = &self.pairs[self.rng.below(self.pairs.len())];
                    batch.first.extend_from_slice(a);
                    batch.second.extend_from_slice(b);
                    batch.same.push(*same);
                }
                let rest = replay.pairs(&self.replay, batch_size - user);
                batch.first.extend(rest.first);
                batch.second.extend(rest.second);
                batch.same.extend(rest.same);
                Ok(Batch::Pairs(batch))
            }
            LossKind::Triplet => {
                if self.examples.is_empty() {
                    return Err("the triplet loss needs labelled digits, not only pairs".into());
                }
                let mut sampler = Sampler::new(&self.examples, seed ^ 1, true).map_err(|e| e.to_string())?;
                let mut batch = sampler.triplets(&self.examples, user);
                let rest = replay.triplets(&self.replay, batch_size - user);
                batch.anchor.extend(rest.anchor);
                batch.positive.extend(rest.positive);
                batch.negative.extend(rest.negative);
                batch.anchor_labels.extend(rest.anchor_labels);
                batch.negative_labels.extend(rest.negative_labels);
                Ok(Batch::Triplets(batch))
            }
        }
    }
}
