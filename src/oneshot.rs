//! N-way one-shot trials: one reference per class, a query by another hand, and the
//! nearest reference's class as the answer. Also the open set: a query of a class
//! that has no reference should be called "none of these" (nearest beyond the threshold).

use std::collections::BTreeMap;

use crate::data::Rng;

/// One trial: `ways` references (one per class), a query whose class is
/// `references[answer]`'s, and a stranger: a query of a class with no reference.
#[derive(Clone, Debug, PartialEq)]
pub struct Trial {
    pub references: Vec<usize>,
    pub query: usize,
    pub answer: usize,
    pub stranger: Option<usize>,
}

/// `count` trials of `ways` classes over items labelled `classes[i]`, drawn by hand
/// (or writer group) `hands[i]`: in each, the references are by one hand and the
/// queries by another, so no query is a copy of its reference. Seeded.
pub fn trials(classes: &[usize], hands: &[u32], ways: usize, count: usize, seed: u64) -> Vec<Trial> {
    let mut by: BTreeMap<(u32, usize), Vec<usize>> = BTreeMap::new();
    for (i, (&c, &h)) in classes.iter().zip(hands).enumerate() {
        by.entry((h, c)).or_default().push(i);
    }
    let mut all_hands: Vec<u32> = hands.to_vec();
    all_hands.sort_unstable();
    all_hands.dedup();
    let mut rng = Rng::new(seed);
    let mut out = Vec::with_capacity(count);
    let mut attempts = 0;
    while out.len() < count && all_hands.len() >= 2 && attempts < 100 * count {
        attempts += 1;
        let r = *rng.pick(&all_hands);
        let q = *rng.pick(&all_hands);
        if r == q {
            continue;
        }
        let mut shared: Vec<usize> =
            by.keys().filter(|&&(h, c)| h == r && by.contains_key(&(q, c))).map(|&(_, c)| c).collect();
        if shared.len() < ways {
            continue;
        }
        // Partial Fisher–Yates: the first `ways` are the trial's classes; one more, if
        // any, is the stranger's.
        for k in 0..(ways + 1).min(shared.len()) {
            let j = k + rng.below(shared.len() - k);
            shared.swap(k, j);
        }
        let references = shared[..ways].iter().map(|&c| *rng.pick(&by[&(r, c)])).collect();
        let answer = rng.below(ways);
        let query = *rng.pick(&by[&(q, shared[answer])]);
        let stranger = shared.get(ways).map(|&c| *rng.pick(&by[&(q, c)]));
        out.push(Trial { references, query, answer, stranger });
    }
    out
}

/// How a distance did on a set of trials.
#[derive(Clone, Copy, Debug, Default, PartialEq, serde::Serialize)]
pub struct Score {
    pub trials: usize,
    /// The nearest reference is the query's class.
    pub accuracy: f64,
    /// ... and within the threshold (the gallery names it).
    pub named: f64,
    /// A stranger's nearest reference is beyond the threshold ("none of these");
    /// `None` when no class was left over for strangers.
    pub strangers_refused: Option<f64>,
}

/// Score `trials` with `distance(i, j)` between items; `threshold` decides the open set.
pub fn score(trials: &[Trial], distance: impl Fn(usize, usize) -> f32, threshold: f32) -> Score {
    let nearest = |q: usize, refs: &[usize]| {
        refs.iter().enumerate().map(|(k, &r)| (k, distance(q, r))).fold((0, f32::INFINITY), |best, x| if x.1 < best.1 { x } else { best })
    };
    let (mut right, mut named, mut strangers, mut refused) = (0, 0, 0, 0);
    for t in trials {
        let (k, d) = nearest(t.query, &t.references);
        right += usize::from(k == t.answer);
        named += usize::from(k == t.answer && d < threshold);
        if let Some(s) = t.stranger {
            strangers += 1;
            refused += usize::from(nearest(s, &t.references).1 >= threshold);
        }
    }
    let share = |n: usize, of: usize| if of == 0 { 0.0 } else { n as f64 / of as f64 };
    Score {
        trials: trials.len(),
        accuracy: share(right, trials.len()),
        named: share(named, trials.len()),
        strangers_refused: (strangers > 0).then(|| share(refused, strangers)),
    }
}

/// A few-shot trial: `shots` references per class, none by the query's hand.
#[derive(Clone, Debug, PartialEq)]
pub struct FewShot {
    pub references: Vec<Vec<usize>>,
    pub query: usize,
    pub answer: usize,
}

/// `count` trials of `ways` classes with `shots` references each, drawn from the
/// class's items by hands other than the query's. Seeded.
pub fn few_shot(classes: &[usize], hands: &[u32], ways: usize, shots: usize, count: usize, seed: u64) -> Vec<FewShot> {
    let mut by_class: BTreeMap<usize, Vec<usize>> = BTreeMap::new();
    for (i, &c) in classes.iter().enumerate() {
        by_class.entry(c).or_default().push(i);
    }
    let all: Vec<usize> = by_class.keys().copied().collect();
    let mut rng = Rng::new(seed);
    let mut out = Vec::with_capacity(count);
    let mut attempts = 0;
    while out.len() < count && all.len() >= ways && attempts < 100 * count {
        attempts += 1;
        let mut picked = all.clone();
        for k in 0..ways {
            let j = k + rng.below(picked.len() - k);
            picked.swap(k, j);
        }
        let answer = rng.below(ways);
        let query = *rng.pick(&by_class[&picked[answer]]);
        let references: Vec<Vec<usize>> = picked[..ways]
            .iter()
            .map(|c| {
                let mut pool: Vec<usize> = by_class[c].iter().copied().filter(|&i| hands[i] != hands[query] && i != query).collect();
                for k in 0..shots.min(pool.len()) {
                    let j = k + rng.below(pool.len() - k);
                    pool.swap(k, j);
                }
                pool.truncate(shots);
                pool
            })
            .collect();
        if references.iter().all(|r| r.len() == shots) {
            out.push(FewShot { references, query, answer });
        }
    }
    out
}

/// Accuracy of few-shot `trials` over `embeddings` (`dim` columns): a class's distance
/// is its nearest reference's (`mean` false) or its references' mean embedding's.
pub fn few_shot_accuracy(trials: &[FewShot], embeddings: &[f32], dim: usize, mean: bool) -> f64 {
    let row = |i: usize| &embeddings[i * dim..(i + 1) * dim];
    let right = trials
        .iter()
        .filter(|t| {
            let q = row(t.query);
            let d: Vec<f32> = t
                .references
                .iter()
                .map(|refs| {
                    if mean {
                        let centre: Vec<f32> = (0..dim).map(|k| refs.iter().map(|&r| row(r)[k]).sum::<f32>() / refs.len() as f32).collect();
                        crate::distance::euclidean_host(q, &centre)
                    } else {
                        refs.iter().map(|&r| crate::distance::euclidean_host(q, row(r))).fold(f32::INFINITY, f32::min)
                    }
                })
                .collect();
            let best = (0..d.len()).fold(0, |b, k| if d[k] < d[b] { k } else { b });
            best == t.answer
        })
        .count();
    if trials.is_empty() { 0.0 } else { right as f64 / trials.len() as f64 }
}

/// Euclidean distance between rows `i` and `j` of a row-major matrix of `dim` columns.
pub fn row_distance(rows: &[f32], dim: usize, i: usize, j: usize) -> f32 {
    crate::distance::euclidean_host(&rows[i * dim..(i + 1) * dim], &rows[j * dim..(j + 1) * dim])
}

#[cfg(test)]
mod tests {
    use super::*;

    /// 6 classes × 3 hands; item i = class i % 6, hand i / 6.
    fn labels() -> (Vec<usize>, Vec<u32>) {
        ((0..18).map(|i| i % 6).collect(), (0..18).map(|i| (i / 6) as u32).collect())
    }

    #[test]
    fn references_and_query_are_by_different_hands_and_the_answer_is_the_query_class() {
        let (classes, hands) = labels();
        let trials = trials(&classes, &hands, 5, 50, 3);
        assert_eq!(trials.len(), 50);
        for t in &trials {
            let hand = hands[t.references[0]];
            assert!(t.references.iter().all(|&r| hands[r] == hand), "references by one hand");
            assert_ne!(hands[t.query], hand, "the query is by another hand");
            let ref_classes: Vec<usize> = t.references.iter().map(|&r| classes[r]).collect();
            assert_eq!(ref_classes.iter().collect::<std::collections::BTreeSet<_>>().len(), 5, "one reference per class");
            assert_eq!(classes[t.query], ref_classes[t.answer]);
            let s = t.stranger.expect("a sixth class is left for the stranger");
            assert!(!ref_classes.contains(&classes[s]));
        }
        assert!(super::trials(&classes, &hands, 7, 5, 3).is_empty(), "7-way needs 7 classes");
    }

    #[test]
    fn few_shot_references_are_by_other_hands_and_nearest_and_mean_differ_by_hand() {
        let (classes, hands) = labels();
        for t in few_shot(&classes, &hands, 4, 2, 30, 5) {
            assert_eq!(t.references.len(), 4);
            for (k, refs) in t.references.iter().enumerate() {
                assert_eq!(refs.len(), 2);
                assert!(refs.iter().all(|&r| hands[r] != hands[t.query] && classes[r] == classes[t.references[k][0]]));
            }
            assert_eq!(classes[t.query], classes[t.references[t.answer][0]]);
        }
        // 1-D embeddings: class 0's references at 0 and 10 (mean 5), class 1's at 4 and 4.
        // A query at 1: nearest says class 0 (1 away), mean says class 1 (3 vs 4).
        let e = [0.0, 10.0, 4.0, 4.0, 1.0];
        let t = FewShot { references: vec![vec![0, 1], vec![2, 3]], query: 4, answer: 0 };
        assert_eq!(few_shot_accuracy(std::slice::from_ref(&t), &e, 1, false), 1.0);
        assert_eq!(few_shot_accuracy(&[t], &e, 1, true), 0.0);
    }

    #[test]
    fn scores_by_hand() {
        // Items on a line: references 0 (at 0.0) and 1 (at 1.0); query 2 at 0.2 → reference 0.
        let at = [0.0f32, 1.0, 0.2, 0.9, 5.0];
        let distance = |i: usize, j: usize| (at[i] - at[j]).abs();
        let t = |query, answer, stranger| Trial { references: vec![0, 1], query, answer, stranger };
        // Right and within 0.5; right (item 3 nearest 1, d 0.1); wrong (item 2 called 0, answer 1).
        let trials = [t(2, 0, Some(4)), t(3, 1, Some(2)), t(2, 1, None)];
        let s = score(&trials, distance, 0.15);
        assert_eq!(s.trials, 3);
        assert!((s.accuracy - 2.0 / 3.0).abs() < 1e-12);
        assert!((s.named - 1.0 / 3.0).abs() < 1e-12, "only item 3 is within 0.15");
        assert_eq!(s.strangers_refused, Some(1.0), "items 4 (4.0 away) and 2 (0.2) are both beyond 0.15");
    }
}
