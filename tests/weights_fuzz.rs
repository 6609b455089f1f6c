//! Any bytes offered as a weights file give `Ok` or a named `Err`, never a panic
//! (in the browser a panic is a trap that ends the engine): 12,000 seeded cases of bit
//! flips, truncations, random bytes and headers edited with a valid checksum.

use std::panic::{AssertUnwindSafe, catch_unwind};

use serde_json::{Value, json};
use siamese_digits::backend::cpu;
use siamese_digits::data::Rng;
use siamese_digits::weights;

/// Rebuild a file around `header` with `file`'s values and a correct checksum.
fn with_header(file: &[u8], header: &Value) -> Vec<u8> {
    let header_len = u32::from_le_bytes(file[8..12].try_into().unwrap()) as usize;
    let json = serde_json::to_vec(header).unwrap();
    let mut out = file[..8].to_vec();
    out.extend_from_slice(&(json.len() as u32).to_le_bytes());
    out.extend_from_slice(&json);
    out.extend_from_slice(&file[12 + header_len..file.len() - 4]);
    let crc = crc32fast::hash(&out);
    out.extend_from_slice(&crc.to_le_bytes());
    out
}

/// Values a careless or hostile editor might put in a header field.
fn odd_value(rng: &mut Rng) -> Value {
    let choices = [
        json!(0), json!(1), json!(2), json!(3), json!(5), json!(27), json!(28), json!(40), json!(513), json!(4097),
        json!(100_000_000), json!(1_000_000_000), json!(4_294_967_296u64), json!(u64::MAX), json!(-1), json!(0.5),
        json!(-0.001), json!(1e30), json!(null), json!("16"), json!([]), json!([16]), json!({}), json!(true),
    ];
    rng.pick(&choices).clone()
}

/// Every path to a number, array or null in `value` (object keys and array indices).
fn leaves(value: &Value, path: Vec<String>, out: &mut Vec<Vec<String>>) {
    match value {
        Value::Object(map) => map.iter().for_each(|(k, v)| leaves(v, [path.clone(), vec![k.clone()]].concat(), out)),
        Value::Array(items) => {
            out.push(path.clone());
            items.iter().enumerate().for_each(|(i, v)| leaves(v, [path.clone(), vec![i.to_string()]].concat(), out));
        }
        _ => out.push(path),
    }
}

/// Replace what `path` leads to, if an earlier edit left it there.
fn set(value: &mut Value, path: &[String], new: Value) {
    let mut at = Some(value);
    for key in path {
        at = match at {
            Some(Value::Object(map)) => map.get_mut(key),
            Some(Value::Array(items)) => key.parse::<usize>().ok().and_then(|i| items.get_mut(i)),
            _ => None,
        };
    }
    if let Some(at) = at {
        *at = new;
    }
}

#[test]
fn no_bytes_make_loading_panic() {
    let file = weights::shipped();
    let header_len = u32::from_le_bytes(file[8..12].try_into().unwrap()) as usize;
    let header: Value = serde_json::from_slice(&file[12..12 + header_len]).unwrap();
    let mut paths = Vec::new();
    leaves(&header, Vec::new(), &mut paths);
    let device = cpu();
    let mut rng = Rng::new(2026);
    let (mut loaded, mut errors) = (0, std::collections::BTreeMap::<String, usize>::new());
    for case in 0..12_000 {
        let bytes = match case % 6 {
            // A flipped bit anywhere (mostly a checksum mismatch) …
            0 => {
                let mut b = file.clone();
                let at = rng.below(b.len());
                b[at] ^= 1 << rng.below(8);
                b
            }
            // … a file cut short, …
            1 => file[..rng.below(file.len())].to_vec(),
            // … random bytes, some behind the right magic, …
            2 => {
                let mut b: Vec<u8> = (0..rng.below(3000)).map(|_| rng.below(256) as u8).collect();
                if rng.below(2) == 0 {
                    b.splice(0..b.len().min(8), file[..8].iter().copied());
                }
                b
            }
            // … and headers edited with a checksum to match: one field, or three.
            _ => {
                let mut h = header.clone();
                for _ in 0..if case % 6 == 5 { 3 } else { 1 } {
                    let path = rng.pick(&paths).clone();
                    set(&mut h, &path, odd_value(&mut rng));
                }
                with_header(&file, &h)
            }
        };
        let result = catch_unwind(AssertUnwindSafe(|| weights::from_bytes(&bytes, &device)));
        match result {
            Ok(Ok(_)) => loaded += 1,
            Ok(Err(e)) => {
                let kind = format!("{e:?}").split('(').next().unwrap().to_string();
                *errors.entry(kind).or_default() += 1;
                assert!(!e.to_string().is_empty());
            }
            Err(_) => panic!("case {case}: loading panicked on {} bytes: {:?}", bytes.len(), String::from_utf8_lossy(&bytes[..bytes.len().min(600)])),
        }
    }
    println!("12,000 cases: {loaded} loaded, errors {errors:?}");
    // The mutations reach every kind of check, not only the checksum.
    for kind in ["NotWeights", "Truncated", "Corrupt", "BadHeader", "UnsupportedVersion", "Mismatch"] {
        assert!(errors.get(kind).copied().unwrap_or(0) > 0, "no case was rejected as {kind}: {errors:?}");
    }
}
