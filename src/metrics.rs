//! Verification metrics over pair distances: accuracy at a threshold, the best
//! threshold on a set, ROC AUC — and the evaluation protocol that uses them.

use burn::module::Module;
use burn::tensor::{Device, Tensor, TensorData};
use serde::Serialize;

use crate::data::{Dataset, protocol_pairs};
use crate::distance::euclidean_host;
use crate::model::{IMAGE_PIXELS, IMAGE_SIDE, SiameseNetwork};

/// Fraction of pairs judged right when "same" means `distance < threshold`.
pub fn pair_accuracy(distances: &[f32], same: &[bool], threshold: f32) -> f64 {
    assert_eq!(distances.len(), same.len(), "{} distances but {} labels", distances.len(), same.len());
    let right = distances.iter().zip(same).filter(|&(&d, &s)| (d < threshold) == s).count();
    right as f64 / distances.len() as f64
}

/// The threshold with the highest pair accuracy on this set (midway between two
/// neighbouring distances), and that accuracy.
pub fn best_threshold(distances: &[f32], same: &[bool]) -> (f32, f64) {
    assert_eq!(distances.len(), same.len(), "{} distances but {} labels", distances.len(), same.len());
    let mut order: Vec<usize> = (0..distances.len()).collect();
    order.sort_by(|&a, &b| distances[a].total_cmp(&distances[b]));
    // Threshold below everything: every "different" pair is right.
    let mut right = same.iter().filter(|&&s| !s).count();
    let (mut best, mut best_right) = (distances[order[0]] - 1e-3, right);
    for (k, &i) in order.iter().enumerate() {
        // Moving the threshold past pair i flips its verdict to "same".
        if same[i] { right += 1 } else { right -= 1 }
        let next = order.get(k + 1).map(|&j| distances[j]);
        if next == Some(distances[i]) {
            continue; // cannot separate tied distances
        }
        if right > best_right {
            best_right = right;
            best = next.map_or(distances[i] + 1e-3, |n| (distances[i] + n) / 2.0);
        }
    }
    (best, best_right as f64 / distances.len() as f64)
}

/// Area under the ROC curve for "small distance ⇒ same": the chance that a random
/// same pair is closer than a random different pair (ties count half).
pub fn roc_auc(distances: &[f32], same: &[bool]) -> f64 {
    assert_eq!(distances.len(), same.len(), "{} distances but {} labels", distances.len(), same.len());
    let mut order: Vec<usize> = (0..distances.len()).collect();
    order.sort_by(|&a, &b| distances[a].total_cmp(&distances[b]));
    let (positives, negatives) = (same.iter().filter(|&&s| s).count(), same.iter().filter(|&&s| !s).count());
    // For each different pair, count the same pairs strictly closer plus half the ties.
    let (mut wins, mut same_before, mut k) = (0.0f64, 0usize, 0);
    while k < order.len() {
        let d = distances[order[k]];
        let end = k + order[k..].iter().take_while(|&&i| distances[i] == d).count();
        let tied_same = order[k..end].iter().filter(|&&i| same[i]).count();
        let tied_diff = (end - k) - tied_same;
        wins += tied_diff as f64 * (same_before as f64 + tied_same as f64 / 2.0);
        same_before += tied_same;
        k = end;
    }
    wins / (positives as f64 * negatives as f64)
}

/// Embeddings of many images, in batches, read back synchronously (CPU use).
/// Returns `[n, embedding]` flattened.
pub fn embed_all(model: &SiameseNetwork, images: &[f32], device: &Device) -> Vec<f32> {
    let model = model.valid();
    images
        .chunks(500 * IMAGE_PIXELS)
        .flat_map(|chunk| {
            let n = chunk.len() / IMAGE_PIXELS;
            let x = Tensor::<4>::from_data(TensorData::new(chunk.to_vec(), [n, 1, IMAGE_SIDE, IMAGE_SIDE]), device);
            model.embed(x).into_data().try_to_vec::<f32>().expect("f32 embeddings")
        })
        .collect()
}

/// Figures of the evaluation protocol.
#[derive(Clone, Debug, Serialize)]
pub struct Report {
    pub pairs: usize,
    pub same_pairs: usize,
    pub pair_accuracy: f64,
    pub roc_auc: f64,
    pub threshold: f32,
    /// Accuracy the best threshold on this very set would give (for reference only:
    /// the reported accuracy uses the stored threshold).
    pub oracle_accuracy: f64,
}

/// Distances between rows `(i, j)` of `embeddings` (`n × dim`, flattened).
pub fn pair_distances(embeddings: &[f32], dim: usize, pairs: impl IntoIterator<Item = (usize, usize)>) -> Vec<f32> {
    let row = |i: usize| &embeddings[i * dim..(i + 1) * dim];
    pairs.into_iter().map(|(i, j)| euclidean_host(row(i), row(j))).collect()
}

/// Distances and labels of the protocol pairs of `set` (see [`protocol_pairs`]).
pub fn protocol_distances(model: &SiameseNetwork, set: &Dataset, max_pairs: usize, seed: u64, device: &Device) -> (Vec<f32>, Vec<bool>) {
    let pairs = protocol_pairs(set, max_pairs, seed);
    let embeddings = embed_all(model, &set.images, device);
    let distances = pair_distances(&embeddings, embeddings.len() / set.len(), pairs.iter().map(|p| (p.0, p.1)));
    (distances, pairs.iter().map(|p| p.2).collect())
}

/// Run the protocol on `set` and judge it with `threshold`.
pub fn evaluate(model: &SiameseNetwork, set: &Dataset, max_pairs: usize, seed: u64, threshold: f32, device: &Device) -> Report {
    let (distances, same) = protocol_distances(model, set, max_pairs, seed, device);
    Report {
        pairs: distances.len(),
        same_pairs: same.iter().filter(|&&s| s).count(),
        pair_accuracy: pair_accuracy(&distances, &same, threshold),
        roc_auc: roc_auc(&distances, &same),
        threshold,
        oracle_accuracy: best_threshold(&distances, &same).1,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const D: [f32; 6] = [0.1, 0.2, 0.3, 0.4, 0.5, 0.6];

    #[test]
    fn accuracy_at_a_threshold() {
        let same = [true, true, false, true, false, false];
        assert_eq!(pair_accuracy(&D, &same, 0.35), 4.0 / 6.0); // wrong: 0.3 (same), 0.4 (different)
        assert_eq!(pair_accuracy(&D, &same, 0.45), 5.0 / 6.0); // wrong: 0.3
        assert_eq!(pair_accuracy(&D, &same, 0.0), 0.5);
    }

    #[test]
    fn best_threshold_separates_a_separable_set() {
        let same = [true, true, true, false, false, false];
        let (t, acc) = best_threshold(&D, &same);
        assert!((t - 0.35).abs() < 1e-6, "threshold {t}");
        assert_eq!(acc, 1.0);
    }

    #[test]
    fn roc_auc_by_hand() {
        // Same at 0.1, 0.2, 0.4; different at 0.3, 0.5, 0.6. Of the 9 (same, different)
        // combinations only (0.4, 0.3) is ordered wrong: AUC = 8/9.
        let same = [true, true, false, true, false, false];
        assert!((roc_auc(&D, &same) - 8.0 / 9.0).abs() < 1e-12);
        assert_eq!(roc_auc(&D, &[true, true, true, false, false, false]), 1.0);
        // All tied: chance level.
        assert_eq!(roc_auc(&[1.0; 4], &[true, false, true, false]), 0.5);
    }
}
