//! The page's WebGPU device: asked for once, shared by every engine, destroyable
//! for tests. Only the WebGPU module (cargo feature `webgpu`) has one; the CPU
//! module answers every request with the reason it cannot.

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
    use wasm_bindgen::{JsCast, JsValue};
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

    /// Ask the browser for an adapter first, so "no WebGPU" is a clear reason rather
    /// than an opaque runtime error. Works in a page and in a worker.
    async fn probe_adapter() -> Result<(), String> {
        let navigator = Reflect::get(&js_sys::global(), &"navigator".into()).map_err(|_| "no navigator")?;
        let gpu = Reflect::get(&navigator, &"gpu".into()).unwrap_or(JsValue::UNDEFINED);
        if gpu.is_undefined() || gpu.is_null() {
            return Err("this browser has no WebGPU (navigator.gpu is missing)".into());
        }
        let request: Function = Reflect::get(&gpu, &"requestAdapter".into())
            .ok()
            .and_then(|f| f.dyn_into().ok())
            .ok_or("navigator.gpu.requestAdapter is missing")?;
        let promise: Promise = request.call0(&gpu).map_err(|e| format!("requestAdapter failed: {e:?}"))?.into();
        let adapter = JsFuture::from(promise).await.map_err(|e| format!("requestAdapter failed: {e:?}"))?;
        if adapter.is_null() || adapter.is_undefined() {
            return Err("no WebGPU adapter is available".into());
        }
        Ok(())
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
