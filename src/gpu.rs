//! Where the engine runs, and the GPU's whole lifecycle: whether the browser has a
//! WebGPU adapter (one check, which both modules answer), the page's WebGPU device
//! (asked for once, shared by every engine, destroyable for tests; only the WebGPU
//! module, cargo feature `webgpu`, has one), reading results back, and the move to
//! the CPU — session and all — when the GPU fails.

use std::cell::RefCell;
use std::rc::Rc;

use burn::tensor::Tensor;
use js_sys::{Function, Promise, Reflect};
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;

use crate::backend::cpu;
use crate::session::Session;

/// Why this browser cannot run WebGPU, or `None` when it has an adapter. Asked before
/// the device, so "no WebGPU" is a clear reason rather than an opaque runtime error;
/// works in a page and in a worker, and in the CPU module too (the worker asks it
/// before fetching the WebGPU module).
pub async fn adapter_problem() -> Option<String> {
    let probe = async {
        let navigator = Reflect::get(&js_sys::global(), &"navigator".into()).map_err(|_| "no navigator")?;
        let gpu = Reflect::get(&navigator, &"gpu".into()).unwrap_or(JsValue::UNDEFINED);
        if gpu.is_undefined() || gpu.is_null() {
            return Err("this browser has no WebGPU (navigator.gpu is missing)".to_string());
        }
        let request: Function = Reflect::get(&gpu, &"requestAdapter".into())
            .ok()
            .and_then(|f| f.dyn_into().ok())
            .ok_or("navigator.gpu.requestAdapter is missing")?;
        let promise: Promise = request.call0(&gpu).map_err(|e| format!("requestAdapter failed: {e:?}"))?.into();
        let adapter = JsFuture::from(promise).await.map_err(|e| format!("requestAdapter failed: {e:?}"))?;
        if adapter.is_null() || adapter.is_undefined() {
            return Err("no WebGPU adapter is available".to_string());
        }
        Ok::<(), String>(())
    };
    probe.await.err()
}

/// Read a result back. burn-ndarray computes eagerly, so on the CPU the data is
/// already there and a plain read avoids the async path; WebGPU must be awaited
/// (a synchronous read panics there).
pub async fn read(tensor: Tensor<1>, on_cpu: bool) -> Result<Vec<f32>, String> {
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

/// The session and where it runs.
pub struct Runtime {
    pub session: Session,
    /// `"webgpu"` or `"cpu"`.
    pub backend: &'static str,
    /// Why the engine is on the CPU although WebGPU was wanted, if it is.
    pub fallback_reason: Option<String>,
    /// Called with the reason when the engine moves from WebGPU to the CPU.
    pub on_fallback: Option<Function>,
}

impl Runtime {
    pub fn on_cpu(&self) -> bool {
        self.backend == "cpu"
    }

    /// Leave the GPU for good: the session goes on on the CPU from its last synced
    /// weights. Returns the notice for JS, to deliver once the runtime is no longer
    /// borrowed (the callback may well call the engine).
    pub fn fall_back(&mut self, reason: String) -> Option<(Function, String)> {
        if self.on_cpu() {
            return None;
        }
        let lost = self.session.move_to(cpu());
        let reason = if lost { format!("{reason}; training steps since the last saved weights were lost") } else { reason };
        self.backend = "cpu";
        self.fallback_reason = Some(reason.clone());
        self.on_fallback.clone().map(|callback| (callback, reason))
    }
}

pub fn notify(notice: Option<(Function, String)>) {
    if let Some((callback, reason)) = notice {
        let _ = callback.call1(&JsValue::NULL, &JsValue::from_str(&reason));
    }
}

/// Run `compute` where the session runs (it is told whether that is the CPU); if a
/// GPU read fails, fall back to the CPU and run it again there.
pub async fn compute(runtime: &Rc<RefCell<Runtime>>, compute: impl Fn(&Session, bool) -> Tensor<1>) -> Result<Vec<f32>, String> {
    let (tensor, on_cpu) = {
        let r = runtime.borrow();
        (compute(&r.session, r.on_cpu()), r.on_cpu())
    };
    match read(tensor, on_cpu).await {
        Ok(values) => Ok(values),
        Err(e) if on_cpu => Err(format!("computation failed: {e}")),
        Err(e) => {
            // No borrow may live across an await: other calls run meanwhile.
            let notice = runtime.borrow_mut().fall_back(format!("the GPU failed ({e}); moved to the CPU"));
            notify(notice);
            let tensor = compute(&runtime.borrow().session, true);
            read(tensor, true).await.map_err(|e| format!("computation failed: {e}"))
        }
    }
}

/// Both images' embeddings, `a ‖ b`, in one read. The CPU embeds them as one batch
/// of two; the GPU runs the encoder once per image (the Siamese `forward`): without
/// autotune, burn's matmul switches to a tiled shared-memory kernel at two rows,
/// which a software adapter (SwiftShader) runs far slower — a pair took 46 ms as one
/// batch there, 19 ms as two.
pub async fn embed_pair(runtime: &Rc<RefCell<Runtime>>, a: &[f32], b: &[f32]) -> Result<Vec<f32>, String> {
    compute(runtime, |s, on_cpu| if on_cpu { s.embed(&[a, b].concat()) } else { s.embed_each(a, b) }).await
}

/// One fine-tuning step where the session runs. If the GPU fails during it, the
/// session moves to the CPU with its last synced weights, and the step is to be run
/// again.
pub async fn train_step(runtime: &Rc<RefCell<Runtime>>) -> Result<f32, String> {
    let (pending, values, on_cpu) = {
        let mut r = runtime.borrow_mut();
        let pending = r.session.begin_step()?;
        let values = pending.values();
        (pending, values, r.on_cpu())
    };
    let read = read(values, on_cpu).await;
    // The borrow ends before any await: other calls run meanwhile.
    let notice = {
        let mut r = runtime.borrow_mut();
        match read {
            Ok(values) => return r.session.finish_step(pending, Ok(values)),
            Err(e) if on_cpu => return r.session.finish_step(pending, Err(format!("computation failed: {e}"))),
            Err(e) => {
                let _ = r.session.finish_step(pending, Err(e.clone()));
                r.fall_back(format!("the GPU failed during training ({e}); moved to the CPU"))
            }
        }
    };
    notify(notice);
    Err("the GPU failed during this training step; the engine moved to the CPU with the last saved weights — run the step again".into())
}

/// Read fine-tuned weights back from the device into the session's weights file.
pub async fn sync(runtime: &Rc<RefCell<Runtime>>) -> Result<(), String> {
    let Some((model, header, generation)) = runtime.borrow().session.unsynced() else {
        return Ok(());
    };
    let bytes = crate::weights::to_bytes_async(&model, &header.preset, &header.config, header.threshold, "fine-tuned in the browser")
        .await
        .map_err(|e| e.to_string())?;
    runtime.borrow_mut().session.synced(bytes, generation);
    Ok(())
}

/// Compile the training kernels and the weights read on this device: a throwaway
/// step and read, nothing kept.
pub async fn warm_training(runtime: &Rc<RefCell<Runtime>>) -> Result<(), String> {
    let (values, model, header, on_cpu) = {
        let mut r = runtime.borrow_mut();
        let values = r.session.warm_step()?;
        (values, r.session.model().clone(), r.session.header().clone(), r.on_cpu())
    };
    read(values, on_cpu).await?;
    crate::weights::to_bytes_async(&model, &header.preset, &header.config, header.threshold, "").await.map_err(|e| e.to_string())?;
    Ok(())
}

/// Why this build cannot run on WebGPU, or the device.
#[cfg(not(feature = "webgpu"))]
pub async fn device() -> Result<burn::tensor::Device, String> {
    Err("this is the CPU module, which has no WebGPU code (the WebGPU module is pkg/gpu/)".into())
}

/// Nothing to destroy without WebGPU.
#[cfg(not(feature = "webgpu"))]
pub fn destroy() {}

#[cfg(feature = "webgpu")]
pub use webgpu::{destroy, device};

#[cfg(feature = "webgpu")]
mod webgpu {
    use std::cell::RefCell;

    use burn::tensor::Device;
    use js_sys::{Function, Promise, Reflect};
    use wasm_bindgen::JsCast;
    use wasm_bindgen_futures::JsFuture;

    /// The WebGPU device, initialised at most once per page (a second `init_async`
    /// fails), or why there is none.
    #[derive(Clone)]
    enum Gpu {
        Untried,
        Starting,
        /// The burn device, and wgpu's handle to the same GPU device (to destroy it).
        Ready(Device, burn::tensor::wgpu::wgpu::Device),
        Unavailable(String),
    }

    thread_local! {
        static GPU: RefCell<Gpu> = const { RefCell::new(Gpu::Untried) };
    }

    async fn sleep(ms: i32) {
        let promise = Promise::new(&mut |resolve, _| {
            let global = js_sys::global();
            if let Ok(set_timeout) = Reflect::get(&global, &"setTimeout".into()).and_then(|f| f.dyn_into::<Function>()) {
                let _ = set_timeout.call2(&global, &resolve, &ms.into());
            }
        });
        let _ = JsFuture::from(promise).await;
    }

    /// The page's WebGPU device, started on first use.
    pub async fn device() -> Result<Device, String> {
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
        let result = match super::adapter_problem().await {
            Some(reason) => Err(reason),
            None => Device::wgpu_options()
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

    /// Destroy the WebGPU device, as a driver reset or a GPU that goes away would.
    /// burn starts its WebGPU runtime once per page, so later requests get the reason.
    pub fn destroy() {
        GPU.with(|g| {
            let mut g = g.borrow_mut();
            if let Gpu::Ready(_, device) = &*g {
                device.destroy();
                *g = Gpu::Unavailable("the WebGPU device was lost (reload the page to try WebGPU again)".into());
            }
        });
    }
}
