//! Any bytes offered as a weights file give `Ok` or a named `Err`, never a panic
//! (in the browser a panic is a trap that ends the engine): 12,000 seeded cases of bit
//! flips, truncations, random bytes and headers edited with a valid checksum, each
//! with the errors its damage must give, and headers whose sizes wrap on 32 bits.

use std::panic::{AssertUnwindSafe, catch_unwind};

use serde_json::{Value, json};
use siamese_digits::backend::cpu;
use siamese_digits::data::Rng;
use siamese_digits::weights::{self, WeightsError};

/// The JSON header of a weights file, and where its parameter count starts.
fn header_of(file: &[u8]) -> (Value, usize) {
    let header_len = u32::from_le_bytes(file[8..12].try_into().unwrap()) as usize;
    (serde_json::from_slice(&file[12..12 + header_len]).unwrap(), 12 + header_len)
}

/// A weights file of `header` and `values`, with a correct checksum.
fn file_with(header: &Value, values: &[u8]) -> Vec<u8> {
    let json = serde_json::to_vec(header).unwrap();
    let mut out = b"SIAMDIGW".to_vec();
    out.extend_from_slice(&(json.len() as u32).to_le_bytes());
    out.extend_from_slice(&json);
    out.extend_from_slice(values);
    let crc = crc32fast::hash(&out);
    out.extend_from_slice(&crc.to_le_bytes());
    out
}

/// `file` rebuilt around `header`, with its own parameter count and values.
fn with_header(file: &[u8], header: &Value) -> Vec<u8> {
    let (_, count_at) = header_of(file);
    file_with(header, &file[count_at..file.len() - 4])
}

/// Values a careless or hostile editor might put in a header field: among them
/// kernels, paddings and widths whose sizes wrap around in 32 bits (65,536² = 2³²).
fn odd_value(rng: &mut Rng) -> Value {
    let choices = [
        json!(0), json!(1), json!(2), json!(3), json!(5), json!(27), json!(28), json!(40), json!(513), json!(4097),
        json!(65_535), json!(65_536), json!(100_000_000), json!(1_000_000_000), json!(2_147_483_648u64),
        json!(4_294_967_295u64), json!(4_294_967_296u64), json!(u64::MAX), json!(-1), json!(0.5), json!(-0.001),
        json!(1e30), json!(null), json!("16"), json!([]), json!([16]), json!({}), json!(true),
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

/// What `path` leads to, if anything.
fn get<'a>(value: &'a mut Value, path: &[String]) -> Option<&'a mut Value> {
    path.iter().try_fold(value, |at, key| match at {
        Value::Object(map) => map.get_mut(key),
        Value::Array(items) => key.parse::<usize>().ok().and_then(|i| items.get_mut(i)),
        _ => None,
    })
}

/// The variant's name, as the expectations below spell it.
fn kind(e: &WeightsError) -> &'static str {
    match e {
        WeightsError::NotWeights => "NotWeights",
        WeightsError::UnsupportedVersion(_) => "UnsupportedVersion",
        WeightsError::Truncated => "Truncated",
        WeightsError::Corrupt => "Corrupt",
        WeightsError::BadHeader(_) => "BadHeader",
        WeightsError::Mismatch(_) => "Mismatch",
        WeightsError::Read(_) => "Read",
    }
}

/// Whether the message is its variant's documented text (a reason, where it has
/// one, that is not empty).
fn documented(e: &WeightsError) -> bool {
    let text = e.to_string();
    match e {
        WeightsError::NotWeights => text == "not a siamese-digits weights file",
        WeightsError::UnsupportedVersion(v) => text == format!("weights file version {v} is not supported (this build reads version 1)"),
        WeightsError::Truncated => text == "the weights file is truncated",
        WeightsError::Corrupt => text == "the weights file is corrupt (checksum mismatch)",
        WeightsError::BadHeader(why) => !why.is_empty() && text == format!("the weights file's header is invalid: {why}"),
        WeightsError::Mismatch(why) => !why.is_empty() && text == format!("the weights do not fit the architecture: {why}"),
        // Loading reads nothing back from a device.
        WeightsError::Read(_) => false,
    }
}

#[test]
fn damaged_files_give_the_error_their_damage_calls_for() {
    let file = weights::shipped();
    let (header, count_at) = header_of(&file);
    let mut paths = Vec::new();
    leaves(&header, Vec::new(), &mut paths);
    let device = cpu();
    let mut rng = Rng::new(2026);
    let (mut loaded, mut errors) = (0, std::collections::BTreeMap::<&str, usize>::new());
    for case in 0..12_000 {
        // The bytes, the errors they may give, and whether they may load.
        let (bytes, allowed, may_load): (Vec<u8>, &[&str], bool) = match case % 6 {
            // A flipped bit: CRC-32 catches every one in what it covers, but a flip in
            // the magic is no longer our file, and one in a length field moves the end.
            0 => {
                let mut b = file.clone();
                let at = rng.below(b.len());
                b[at] ^= 1 << rng.below(8);
                let allowed: &[&str] = match at {
                    0..8 => &["NotWeights"],
                    8..12 => &["Truncated", "Corrupt"],
                    _ if (count_at..count_at + 4).contains(&at) => &["Truncated", "Corrupt"],
                    _ => &["Corrupt"],
                };
                (b, allowed, false)
            }
            // A file cut short: too short for the magic, or short of what it announces.
            1 => {
                let cut = rng.below(file.len());
                let allowed: &[&str] = if cut < 8 { &["NotWeights"] } else { &["Truncated"] };
                (file[..cut].to_vec(), allowed, false)
            }
            // Random bytes, some behind the right magic (whose lengths then point
            // past the end or at the wrong checksum).
            2 => {
                let mut b: Vec<u8> = (0..rng.below(3000)).map(|_| rng.below(256) as u8).collect();
                let magic = rng.below(2) == 0;
                if magic {
                    b.splice(0..b.len().min(8), file[..8].iter().copied());
                }
                let allowed: &[&str] = if magic { &["Truncated", "Corrupt"] } else { &["NotWeights"] };
                (b, allowed, false)
            }
            // One header field edited, with a checksum to match: what it may break
            // depends on the field, and one left as it was must load.
            3 | 4 => {
                let mut h = header.clone();
                let path = rng.pick(&paths).clone();
                let value = odd_value(&mut rng);
                let at = get(&mut h, &path).expect("a path of the header");
                let unchanged = *at == value;
                *at = value.clone();
                let (allowed, may_load): (&[&str], bool) = match path[0].as_str() {
                    _ if unchanged => (&[], true),
                    "version" if value.as_u64().is_some_and(|v| v <= u32::MAX as u64) => (&["UnsupportedVersion"], false),
                    "version" => (&["BadHeader"], false),
                    // Another positive threshold, another name or note still loads.
                    "threshold" | "preset" | "note" => (&["BadHeader"], true),
                    // The model's shapes follow from the architecture: others cannot fit it.
                    "shapes" => (&["BadHeader", "Mismatch"], false),
                    // Another dropout, or the unit norm, keeps every shape.
                    "config" => (&["BadHeader", "Mismatch"], true),
                    other => panic!("a header field `{other}` this test does not know"),
                };
                (with_header(&file, &h), allowed, may_load)
            }
            // Three fields edited: any of the header's errors, or a file that loads.
            _ => {
                let mut h = header.clone();
                for _ in 0..3 {
                    let path = rng.pick(&paths).clone();
                    let value = odd_value(&mut rng);
                    if let Some(at) = get(&mut h, &path) {
                        *at = value;
                    }
                }
                let allowed: &[&str] = &["BadHeader", "UnsupportedVersion", "Mismatch"];
                (with_header(&file, &h), allowed, true)
            }
        };
        let result = catch_unwind(AssertUnwindSafe(|| weights::from_bytes(&bytes, &device)));
        match result {
            Ok(Ok((_, h))) => {
                assert!(may_load, "case {case}: damaged bytes loaded ({} bytes)", bytes.len());
                // What loads is a usable file: the values it holds fill the shapes the
                // shipped file names, under a threshold the verdicts can use.
                assert_eq!(h.version, 1, "case {case}");
                assert!(h.threshold.is_finite() && h.threshold > 0.0, "case {case}: threshold {}", h.threshold);
                assert_eq!(serde_json::to_value(&h.shapes).unwrap(), header["shapes"], "case {case}");
                loaded += 1;
            }
            Ok(Err(e)) => {
                assert!(allowed.contains(&kind(&e)), "case {case}: {e:?}, expected one of {allowed:?}");
                assert!(documented(&e), "case {case}: {e:?} reads {:?}", e.to_string());
                *errors.entry(kind(&e)).or_default() += 1;
            }
            Err(_) => panic!("case {case}: loading panicked on {} bytes: {:?}", bytes.len(), String::from_utf8_lossy(&bytes[..bytes.len().min(600)])),
        }
    }
    println!("12,000 cases: {loaded} loaded, errors {errors:?}");
    // The mutations reach every kind of check, not only the checksum.
    for name in ["NotWeights", "Truncated", "Corrupt", "BadHeader", "UnsupportedVersion", "Mismatch"] {
        assert!(errors.get(name).copied().unwrap_or(0) > 0, "no case was rejected as {name}: {errors:?}");
    }
    assert!(loaded > 0, "no edit left a loadable file");
}

/// A stage of one channel whose kernel has 2³² or 2⁶⁴ weights per channel pair (0 in a
/// 32-bit usize), padded so the kernel fits and pooled to 1 px, in first or second
/// place, with the shapes a 32-bit loader would find consistent with a handful of
/// values: the header is refused, naming the stage.
#[test]
fn kernels_whose_sizes_wrap_on_32_bits_are_refused() {
    let file = weights::shipped();
    let (header, _) = header_of(&file);
    let device = cpu();
    // The `default` preset's first stage: 5 px kernels, pooled 2/2 to 12 px.
    let first = header["config"]["stages"][0].clone();
    let c1 = first["channels"].as_u64().unwrap();
    for kernel in [65_536u64, 1 << 31, 1 << 32] {
        for (n, before, side, channels_in) in [(1, vec![], 28, 1), (2, vec![first.clone()], 12, c1)] {
            let conv = side + 2 * (kernel - 1) - kernel + 1;
            let stage = json!({ "channels": 1, "kernel": kernel, "stride": 1, "padding": kernel - 1, "lrn": null, "pool": conv, "pool_stride": 1 });
            let mut shapes = if n == 2 { vec![json!([c1, 1, 5, 5]), json!([c1])] } else { vec![] };
            shapes.extend([json!([1, channels_in, kernel, kernel]), json!([1]), json!([1, 2]), json!([2])]);
            let wrapped: u32 = shapes.iter().map(|s| s.as_array().unwrap().iter().fold(1u32, |p, d| p.wrapping_mul(d.as_u64().unwrap() as u32))).sum();
            assert_eq!(wrapped as u64, if n == 1 { 5 } else { c1 * 25 + c1 + 5 }, "the kernel's weights wrap to 0");
            let mut h = header.clone();
            h["config"]["stages"] = Value::Array([before, vec![stage]].concat());
            h["config"]["hidden"] = json!([]);
            h["config"]["embedding"] = json!(2);
            h["shapes"] = Value::Array(shapes);
            let mut values = wrapped.to_le_bytes().to_vec();
            values.extend((0..wrapped).flat_map(|_| 0.25f32.to_le_bytes()));
            match catch_unwind(AssertUnwindSafe(|| weights::from_bytes(&file_with(&h, &values), &device))) {
                Ok(Err(WeightsError::BadHeader(why))) => assert!(why.contains(&format!("stage {n}")), "a {kernel}-px kernel in stage {n}: {why}"),
                Ok(other) => panic!("a {kernel}-px kernel in stage {n}: {:?}", other.err()),
                Err(_) => panic!("a {kernel}-px kernel in stage {n}: loading panicked"),
            }
        }
    }
}
