//! The fine-tuning studio's data: the visitor's labelled digits and marked pairs, in
//! the order they were added, the batches that mix them with a replay sample of
//! MNIST digits, and the pairs the "your examples" score is computed on. Plain Rust:
//! the [`crate::session::Session`] holds one, and `cargo test` checks it.

use crate::data::{Dataset, PairBatch, Rng, Sampler};
use crate::model::IMAGE_PIXELS;
use crate::train::{Batch, LossKind};

/// One thing the visitor taught.
#[derive(Clone, Debug, PartialEq)]
pub enum Item {
    /// A drawn digit with its label.
    Example { image: Vec<f32>, label: u8 },
    /// Two drawings marked as the same digit or not.
    Pair { a: Vec<f32>, b: Vec<f32>, same: bool },
}

impl Item {
    /// A checked labelled digit.
    pub fn example(image: &[f32], label: u8) -> Result<Self, String> {
        check_image(image, "example")?;
        if label > 9 {
            return Err(format!("a label is a digit 0–9, got {label}"));
        }
        Ok(Item::Example { image: image.to_vec(), label })
    }

    /// A checked marked pair.
    pub fn pair(a: &[f32], b: &[f32], same: bool) -> Result<Self, String> {
        check_image(a, "first image")?;
        check_image(b, "second image")?;
        Ok(Item::Pair { a: a.to_vec(), b: b.to_vec(), same })
    }
}

/// What the visitor taught so far, and the replay digits mixed into every batch so
/// the model keeps the rest of MNIST.
pub struct Studio {
    items: Vec<Item>,
    replay: Dataset,
    rng: Rng,
}

/// The user's data as one embedding batch and the pairs to score on it.
pub struct UserPairs {
    /// Every image to embed, `n × 784` flattened: the labelled digits, then both
    /// sides of each marked pair.
    pub images: Vec<f32>,
    /// `(i, j, same)` over rows of the embedded `images`.
    pub pairs: Vec<(usize, usize, bool)>,
}

impl Studio {
    /// An empty studio whose batches replay digits of `replay`, drawn with `seed`.
    pub fn new(replay: Dataset, seed: u64) -> Self {
        Self { items: Vec::new(), replay, rng: Rng::new(seed) }
    }

    /// Add a checked item; returns how many there are.
    pub fn add(&mut self, item: Item) -> usize {
        self.items.push(item);
        self.items.len()
    }

    /// Remove item `index` (the others keep their order).
    pub fn remove(&mut self, index: usize) -> Result<(), String> {
        if index >= self.items.len() {
            return Err(format!("there is no item {index} (there are {})", self.items.len()));
        }
        self.items.remove(index);
        Ok(())
    }

    /// Replace every item (already checked).
    pub fn replace(&mut self, items: Vec<Item>) {
        self.items = items;
    }

    /// Forget every example and pair.
    pub fn clear(&mut self) {
        self.items.clear();
    }

    /// Everything taught, in the order added.
    pub fn items(&self) -> &[Item] {
        &self.items
    }

    /// The labelled digits, as a dataset.
    fn examples(&self) -> Dataset {
        let mut set = Dataset::default();
        for item in &self.items {
            if let Item::Example { image, label } = item {
                set.push(image, *label);
            }
        }
        set
    }

    /// The marked pairs.
    fn pairs(&self) -> Vec<(&[f32], &[f32], bool)> {
        self.items
            .iter()
            .filter_map(|item| match item {
                Item::Pair { a, b, same } => Some((a.as_slice(), b.as_slice(), *same)),
                Item::Example { .. } => None,
            })
            .collect()
    }

    /// One fine-tuning batch of `batch_size`: half from the user (their marked pairs
    /// and balanced pairs of their labelled digits, or triplets of those digits),
    /// half from the replay sample. Everything but the marked pairs is augmented.
    pub fn batch(&mut self, loss: LossKind, batch_size: usize) -> Result<Batch, String> {
        if self.items.is_empty() {
            return Err("add some examples first: there is nothing to fine-tune on".into());
        }
        let examples = self.examples();
        let seed = self.rng.next_u64();
        let user = batch_size / 2;
        let mut replay = Sampler::new(&self.replay, seed, true).map_err(|e| e.to_string())?;
        match loss {
            LossKind::Contrastive => {
                let marked = self.pairs().len();
                let own_pairs = match (marked == 0, examples.is_empty()) {
                    (true, _) => 0,
                    (false, true) => user,
                    (false, false) => user / 2,
                };
                let mut batch = if own_pairs < user {
                    Sampler::new(&examples, seed ^ 1, true).map_err(|e| e.to_string())?.pairs(&examples, user - own_pairs)
                } else {
                    PairBatch::default()
                };
                let picks: Vec<usize> = (0..own_pairs).map(|_| self.rng.below(marked)).collect();
                let pairs = self.pairs();
                for i in picks {
                    let (a, b, same) = pairs[i];
                    batch.first.extend_from_slice(a);
                    batch.second.extend_from_slice(b);
                    batch.same.push(same);
                }
                let rest = replay.pairs(&self.replay, batch_size - user);
                batch.first.extend(rest.first);
                batch.second.extend(rest.second);
                batch.same.extend(rest.same);
                Ok(Batch::Pairs(batch))
            }
            LossKind::Triplet => {
                if examples.is_empty() {
                    return Err("the triplet loss needs labelled digits, not only pairs".into());
                }
                let mut sampler = Sampler::new(&examples, seed ^ 1, true).map_err(|e| e.to_string())?;
                let mut batch = sampler.triplets(&examples, user);
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

    /// A batch of replay digits alone (warming a new engine's training kernels).
    pub fn replay_batch(&mut self, loss: LossKind, batch_size: usize) -> Result<Batch, String> {
        let mut replay = Sampler::new(&self.replay, self.rng.next_u64(), true).map_err(|e| e.to_string())?;
        Ok(Batch::sample(&mut replay, &self.replay, loss, batch_size))
    }

    /// Every pair of labelled digits (same when the labels agree) and every marked
    /// pair, over one batch of images. `None` when there is no pair yet.
    pub fn user_pairs(&self) -> Option<UserPairs> {
        let examples = self.examples();
        let n = examples.len();
        let mut images = examples.images;
        let mut pairs = Vec::new();
        for i in 0..n {
            for j in i + 1..n {
                pairs.push((i, j, examples.labels[i] == examples.labels[j]));
            }
        }
        for (k, (a, b, same)) in self.pairs().into_iter().enumerate() {
            images.extend_from_slice(a);
            images.extend_from_slice(b);
            pairs.push((n + 2 * k, n + 2 * k + 1, same));
        }
        (!pairs.is_empty()).then_some(UserPairs { images, pairs })
    }
}

/// A 784-value image: the right length, every value finite.
pub fn check_image(values: &[f32], what: &str) -> Result<(), String> {
    if values.len() != IMAGE_PIXELS {
        return Err(format!(
            "{what}: expected {IMAGE_PIXELS} values (a {side}×{side} image), got {}",
            values.len(),
            side = crate::model::IMAGE_SIDE
        ));
    }
    if let Some(i) = values.iter().position(|v| !v.is_finite()) {
        return Err(format!("{what}: value {i} is not a finite number"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An image whose every pixel is `v` (tells images apart after batching).
    fn flat(v: f32) -> Vec<f32> {
        vec![v; IMAGE_PIXELS]
    }

    fn replay() -> Dataset {
        let mut set = Dataset::default();
        for d in 0..10u8 {
            set.push(&flat(0.5), d);
        }
        set
    }

    #[test]
    fn bad_input_is_refused_with_its_reason() {
        let mut s = Studio::new(replay(), 0);
        assert!(Item::example(&[0.0; 10], 1).unwrap_err().contains("expected 784 values"));
        let mut nan = flat(0.0);
        nan[3] = f32::NAN;
        assert_eq!(Item::pair(&flat(0.0), &nan, true).unwrap_err(), "second image: value 3 is not a finite number");
        assert!(Item::example(&flat(0.0), 10).unwrap_err().contains("0–9"));
        assert_eq!(s.remove(0).unwrap_err(), "there is no item 0 (there are 0)");
        assert!(s.batch(LossKind::Contrastive, 32).unwrap_err().contains("nothing to fine-tune"));
        assert!(s.items().is_empty());
    }

    #[test]
    fn removing_an_item_keeps_the_others_in_order() {
        let mut s = Studio::new(replay(), 0);
        s.add(Item::example(&flat(0.1), 1).unwrap());
        s.add(Item::pair(&flat(0.2), &flat(0.2), true).unwrap());
        s.add(Item::example(&flat(0.3), 3).unwrap());
        s.remove(1).unwrap();
        assert_eq!(s.examples().labels, vec![1, 3]);
        assert_eq!(s.examples().image(1)[0], 0.3);
        assert!(s.pairs().is_empty());
    }

    #[test]
    fn a_batch_is_half_user_half_replay() {
        let mut s = Studio::new(replay(), 0);
        s.add(Item::example(&flat(0.9), 1).unwrap());
        s.add(Item::example(&flat(0.9), 7).unwrap());
        s.add(Item::pair(&flat(1.0), &flat(1.0), false).unwrap());
        let Ok(Batch::Pairs(b)) = s.batch(LossKind::Contrastive, 32) else { panic!("expected pairs") };
        assert_eq!(b.same.len(), 32);
        // 16 user pairs: 8 marked (the pair is "different") + 8 balanced example pairs.
        let marked = b.first.chunks(IMAGE_PIXELS).filter(|img| img.iter().all(|&v| v == 1.0)).count();
        assert_eq!(marked, 8);
        assert_eq!(b.same[..8].iter().filter(|&&x| x).count(), 4, "balanced example pairs: {:?}", &b.same[..8]);
        assert!(!b.same[8..16].iter().any(|&x| x), "the marked pair is 'different'");
        assert_eq!(b.same[16..].iter().filter(|&&x| x).count(), 8, "balanced replay pairs");
    }

    #[test]
    fn only_marked_pairs_fill_the_user_half() {
        let mut s = Studio::new(replay(), 0);
        s.add(Item::pair(&flat(1.0), &flat(1.0), true).unwrap());
        let Ok(Batch::Pairs(b)) = s.batch(LossKind::Contrastive, 8) else { panic!("expected pairs") };
        assert_eq!(b.same[..4], [true; 4]);
        assert!(s.batch(LossKind::Triplet, 8).unwrap_err().contains("labelled digits"));
    }

    #[test]
    fn triplets_need_two_digits() {
        let mut s = Studio::new(replay(), 0);
        s.add(Item::example(&flat(0.9), 4).unwrap());
        assert!(s.batch(LossKind::Triplet, 8).unwrap_err().contains("at least two different digits"));
        s.add(Item::example(&flat(0.8), 9).unwrap());
        let Ok(Batch::Triplets(t)) = s.batch(LossKind::Triplet, 8) else { panic!("expected triplets") };
        assert_eq!(t.anchor_labels.len(), 8);
        assert!(t.anchor_labels.iter().zip(&t.negative_labels).all(|(a, n)| a != n));
    }

    #[test]
    fn user_pairs_cover_every_example_pair_and_each_marked_pair() {
        let mut s = Studio::new(replay(), 0);
        assert!(s.user_pairs().is_none());
        s.add(Item::example(&flat(0.1), 1).unwrap());
        assert!(s.user_pairs().is_none(), "one example makes no pair");
        s.add(Item::pair(&flat(0.4), &flat(0.5), false).unwrap());
        s.add(Item::example(&flat(0.2), 1).unwrap());
        s.add(Item::example(&flat(0.3), 2).unwrap());
        let u = s.user_pairs().unwrap();
        assert_eq!(u.images.len(), 5 * IMAGE_PIXELS);
        assert_eq!(u.pairs, vec![(0, 1, true), (0, 2, false), (1, 2, false), (3, 4, false)]);
        assert_eq!(u.images[4 * IMAGE_PIXELS], 0.5);
    }
}
