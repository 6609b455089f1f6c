//! Where tensors run on the CPU.

use burn::tensor::Device;

/// The CPU device: burn-ndarray, the backend this project chose for its CPU path
/// (burn 0.22 deprecates it in favour of flex, which we only measure beside it).
#[allow(deprecated)]
pub fn cpu() -> Device {
    Device::ndarray()
}

/// burn's newer pure-Rust CPU backend, measured beside ndarray for native training.
#[cfg(all(not(target_arch = "wasm32"), feature = "flex"))]
pub fn flex() -> Device {
    Device::flex()
}

/// A native CPU backend by name (`ndarray` or `flex`).
#[cfg(not(target_arch = "wasm32"))]
pub fn native(name: &str) -> Result<Device, String> {
    match name {
        "ndarray" => Ok(cpu()),
        #[cfg(feature = "flex")]
        "flex" => Ok(flex()),
        #[cfg(not(feature = "flex"))]
        "flex" => Err("this build has no flex backend: build with `--features flex` (or pass `--backend ndarray`)".into()),
        other => Err(format!("unknown backend `{other}` (expected `ndarray` or `flex`)")),
    }
}

#[cfg(all(test, not(target_arch = "wasm32")))]
mod tests {
    use super::native;

    #[test]
    fn backends_by_name() {
        assert!(native("ndarray").is_ok());
        let unknown = native("cuda").unwrap_err();
        assert!(unknown.contains("unknown backend `cuda`"), "{unknown}");
        // The test build leaves flex out; asking for it says how to get it.
        #[cfg(not(feature = "flex"))]
        assert!(native("flex").unwrap_err().contains("--features flex"));
        #[cfg(feature = "flex")]
        assert!(native("flex").is_ok());
    }
}
