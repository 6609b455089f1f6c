//! Metric-learning losses: contrastive (pairs), triplet, and prototypical (episodes
//! of many classes, for the background set).
//!
//! Labels are `same: bool` tensors — `true` means both inputs show the same digit —
//! so nobody has to remember which of 0/1 means "same".

use burn::config::Config;
use burn::module::Module;
use burn::tensor::activation::{log_softmax, relu};
use burn::tensor::{Bool, Int, Tensor, TensorData, assert_shape};

use crate::distance::euclidean;

/// Configuration of [`ContrastiveLoss`].
#[derive(Config, Debug)]
pub struct ContrastiveLossConfig {
    /// Different-digit pairs closer than this are pushed apart (why 1.0:
    /// [`crate::train::LossKind::default_margin`]).
    #[config(default = 1.0)]
    pub margin: f32,
}

impl ContrastiveLossConfig {
    pub fn init(&self) -> ContrastiveLoss {
        assert!(self.margin > 0.0, "contrastive margin must be positive, got {}", self.margin);
        ContrastiveLoss { margin: self.margin }
    }
}

/// Contrastive loss (Hadsell, Chopra & LeCun, 2006).
///
/// `L = (1-Y)·d² + Y·max(0, m-d)²` with `Y = 1` for a *different* pair, i.e.
/// `same ? d² : max(0, m-d)²`, where `d` is the Euclidean distance of the embeddings.
#[derive(Module, Debug)]
pub struct ContrastiveLoss {
    pub margin: f32,
}

impl ContrastiveLoss {
    /// Mean loss over the batch.
    ///
    /// # Shapes
    ///
    /// - e1, e2: `[batch, embedding]`
    /// - same: `[batch]`
    /// - output: `[1]`
    pub fn forward(&self, e1: Tensor<2>, e2: Tensor<2>, same: Tensor<1, Bool>) -> Tensor<1> {
        self.forward_no_reduction(e1, e2, same).mean()
    }

    /// Loss of every pair.
    ///
    /// # Shapes
    ///
    /// - e1, e2: `[batch, embedding]`
    /// - same: `[batch]`
    /// - output: `[batch]`
    pub fn forward_no_reduction(&self, e1: Tensor<2>, e2: Tensor<2>, same: Tensor<1, Bool>) -> Tensor<1> {
        let [batch, dim] = e1.dims();
        assert_shape!(e2, [batch, dim]);
        assert_shape!(same, [batch]);
        let d = euclidean(e1, e2); // [batch]
        let pull = d.clone().square(); // [batch]
        let push = relu(d.neg().add_scalar(self.margin)).square(); // [batch]
        push.mask_where(same, pull)
    }
}

/// Configuration of [`TripletLoss`].
#[derive(Config, Debug)]
pub struct TripletLossConfig {
    /// How much farther the negative must be than the positive (α; why 0.5:
    /// [`crate::train::LossKind::default_margin`]).
    #[config(default = 0.5)]
    pub margin: f32,
}

impl TripletLossConfig {
    pub fn init(&self) -> TripletLoss {
        assert!(self.margin > 0.0, "triplet margin must be positive, got {}", self.margin);
        TripletLoss { margin: self.margin }
    }
}

/// Triplet loss: `max(‖f(a)-f(p)‖ - ‖f(a)-f(n)‖ + α, 0)`.
#[derive(Module, Debug)]
pub struct TripletLoss {
    pub margin: f32,
}

impl TripletLoss {
    /// Mean loss over the batch.
    ///
    /// # Shapes
    ///
    /// - anchor, positive, negative: `[batch, embedding]`
    /// - output: `[1]`
    pub fn forward(&self, anchor: Tensor<2>, positive: Tensor<2>, negative: Tensor<2>) -> Tensor<1> {
        self.forward_no_reduction(anchor, positive, negative).mean()
    }

    /// Loss of every triplet.
    ///
    /// # Shapes
    ///
    /// - anchor, positive, negative: `[batch, embedding]`
    /// - output: `[batch]`
    pub fn forward_no_reduction(&self, anchor: Tensor<2>, positive: Tensor<2>, negative: Tensor<2>) -> Tensor<1> {
        let [batch, dim] = anchor.dims();
        assert_shape!(positive, [batch, dim]);
        assert_shape!(negative, [batch, dim]);
        let d_pos = euclidean(anchor.clone(), positive); // [batch]
        let d_neg = euclidean(anchor, negative); // [batch]
        relu(d_pos - d_neg + self.margin)
    }
}

/// Configuration of [`PrototypicalLoss`].
#[derive(Config, Debug)]
pub struct PrototypicalLossConfig {
    /// Logits are `-scale·d²`. Embeddings lie on the unit sphere (d² ≤ 4), so without a
    /// scale the softmax could never be sure; 10 makes a gap of d² = 0.5 worth e⁵.
    #[config(default = 10.0)]
    pub scale: f32,
}

impl PrototypicalLossConfig {
    pub fn init(&self) -> PrototypicalLoss {
        assert!(self.scale > 0.0, "prototypical scale must be positive, got {}", self.scale);
        PrototypicalLoss { scale: self.scale }
    }
}

/// Prototypical loss (Snell, Swersky & Zemel, 2017): each class stands at the mean of
/// its support embeddings, and each query is classified among all the episode's
/// classes by a softmax over `-scale·d²`; the loss is the cross-entropy of its own
/// class. One episode compares every query with every class at once, which is what
/// one-shot recognition asks of the distance.
#[derive(Module, Debug)]
pub struct PrototypicalLoss {
    pub scale: f32,
}

impl PrototypicalLoss {
    /// Mean loss over the queries.
    ///
    /// # Shapes
    ///
    /// - support: `[classes, shots, embedding]`
    /// - query: `[classes, queries, embedding]` (query `[c, i]` belongs to class `c`)
    /// - output: `[1]`
    pub fn forward(&self, support: Tensor<3>, query: Tensor<3>) -> Tensor<1> {
        self.forward_no_reduction(support, query).mean()
    }

    /// Loss of every query, class by class.
    ///
    /// # Shapes
    ///
    /// - support: `[classes, shots, embedding]`
    /// - query: `[classes, queries, embedding]`
    /// - output: `[classes · queries]`
    pub fn forward_no_reduction(&self, support: Tensor<3>, query: Tensor<3>) -> Tensor<1> {
        let [classes, _, dim] = support.dims();
        let [_, queries, _] = query.dims();
        assert_shape!(query, [classes, queries, dim]);
        let prototypes: Tensor<2> = support.mean_dim(1).reshape([classes, dim]); // [classes, dim]
        let query: Tensor<2> = query.reshape([classes * queries, dim]);
        let squared: Tensor<2> = (query.unsqueeze_dim::<3>(1) - prototypes.unsqueeze_dim::<3>(0)) // [cq, classes, dim]
            .square()
            .sum_dim(2)
            .reshape([classes * queries, classes]); // [cq, classes]
        let log_p = log_softmax(squared.mul_scalar(-self.scale), 1); // [cq, classes]
        let own: Vec<i64> = (0..classes * queries).map(|i| (i / queries) as i64).collect();
        let own = Tensor::<2, Int>::from_data(TensorData::new(own, [classes * queries, 1]), &log_p.device());
        log_p.gather(1, own).reshape([classes * queries]).neg()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend::cpu;
    use burn::tensor::{TensorData, Tolerance};

    fn t(rows: [[f32; 2]; 3]) -> Tensor<2> {
        Tensor::from_floats(rows, &cpu())
    }

    #[test]
    fn contrastive_matches_hand_values() {
        // d = 5, 1, 0.5; labels same, different, different; margin 2.
        let e1 = t([[0.0, 0.0], [0.0, 0.0], [0.0, 0.0]]);
        let e2 = t([[3.0, 4.0], [1.0, 0.0], [0.0, 0.5]]);
        let same = Tensor::<1, Bool>::from_data([true, false, false], &cpu());
        let loss = ContrastiveLossConfig::new().with_margin(2.0).init();
        // same: d² = 25; different d=1: (2-1)² = 1; different d=.5: 1.5² = 2.25.
        let expected = TensorData::from([25.0f32, 1.0, 2.25]);
        loss.forward_no_reduction(e1.clone(), e2.clone(), same.clone())
            .into_data()
            .assert_approx_eq::<f32>(&expected, Tolerance::default());
        let mean: f32 = loss.forward(e1, e2, same).into_scalar();
        assert!((mean - 28.25 / 3.0).abs() < 1e-4, "mean {mean}");
    }

    #[test]
    fn contrastive_ignores_different_pairs_beyond_the_margin() {
        let e1 = t([[0.0, 0.0], [0.0, 0.0], [0.0, 0.0]]);
        let e2 = t([[3.0, 4.0], [3.0, 0.0], [0.0, 0.0]]);
        let same = Tensor::<1, Bool>::from_data([false, false, true], &cpu());
        let loss = ContrastiveLossConfig::new().with_margin(2.0).init();
        let values = loss.forward_no_reduction(e1, e2, same).into_data().try_to_vec::<f32>().unwrap();
        assert_eq!(values, vec![0.0, 0.0, 0.0]);
    }

    #[test]
    fn triplet_matches_hand_values() {
        let a = t([[0.0, 0.0], [0.0, 0.0], [0.0, 0.0]]);
        let p = t([[1.0, 0.0], [0.0, 3.0], [0.0, 0.0]]);
        let n = t([[0.0, 2.0], [4.0, 0.0], [0.0, 0.25]]);
        let loss = TripletLossConfig::new().with_margin(0.5).init();
        // 1 - 2 + .5 < 0 → 0; 3 - 4 + .5 < 0 → 0; 0 - .25 + .5 = .25.
        let expected = TensorData::from([0.0f32, 0.0, 0.25]);
        loss.forward_no_reduction(a.clone(), p.clone(), n.clone())
            .into_data()
            .assert_approx_eq::<f32>(&expected, Tolerance::default());
        let n_close = t([[0.0, 1.2], [1.0, 0.0], [0.0, 0.25]]);
        // 1 - 1.2 + .5 = .3; 3 - 1 + .5 = 2.5; .25.
        let expected = TensorData::from([0.3f32, 2.5, 0.25]);
        loss.forward_no_reduction(a.clone(), p.clone(), n_close.clone())
            .into_data()
            .assert_approx_eq::<f32>(&expected, Tolerance::default());
        let mean: f32 = loss.forward(a, p, n_close).into_scalar();
        assert!((mean - 3.05 / 3.0).abs() < 1e-4, "mean {mean}");
    }

    #[test]
    #[should_panic(expected = "assert_shape!(e2, [batch, dim])")]
    fn contrastive_names_mismatched_sizes() {
        let e1 = Tensor::<2>::zeros([2, 3], &cpu());
        let e2 = Tensor::<2>::zeros([2, 4], &cpu());
        let same = Tensor::<1, Bool>::from_data([true, false], &cpu());
        ContrastiveLossConfig::new().init().forward(e1, e2, same);
    }

    #[test]
    #[should_panic(expected = "assert_shape!(same, [batch])")]
    fn contrastive_names_mismatched_labels() {
        let e = Tensor::<2>::zeros([2, 3], &cpu());
        let same = Tensor::<1, Bool>::from_data([true, false, true], &cpu());
        ContrastiveLossConfig::new().init().forward(e.clone(), e, same);
    }

    #[test]
    #[should_panic(expected = "assert_shape!(negative, [batch, dim])")]
    fn triplet_names_mismatched_sizes() {
        let e = Tensor::<2>::zeros([2, 3], &cpu());
        let n = Tensor::<2>::zeros([3, 3], &cpu());
        TripletLossConfig::new().init().forward(e.clone(), e, n);
    }

    #[test]
    fn prototypical_matches_hand_values() {
        // Classes at (0,0) and (2,0) (the mean of two shots each); scale 1.
        let support = Tensor::<3>::from_floats([[[0.0, -1.0], [0.0, 1.0]], [[2.0, 0.0], [2.0, 0.0]]], &cpu());
        let query = Tensor::<3>::from_floats([[[0.5, 0.0]], [[2.0, 1.0]]], &cpu());
        let loss = PrototypicalLossConfig::new().with_scale(1.0).init();
        // Query 0: d² = .25 and 2.25, loss ln(1 + e^-2); query 1: d² = 5 and 1, ln(1 + e^-4).
        let expected = TensorData::from([(1.0f32 + (-2.0f32).exp()).ln(), (1.0f32 + (-4.0f32).exp()).ln()]);
        loss.forward_no_reduction(support.clone(), query.clone())
            .into_data()
            .assert_approx_eq::<f32>(&expected, Tolerance::default());
        // A query at its own class and far from the other costs almost nothing.
        let sure = Tensor::<3>::from_floats([[[0.0, 0.0]], [[2.0, 0.0]]], &cpu());
        let values = PrototypicalLossConfig::new().init().forward_no_reduction(support, sure).into_data().try_to_vec::<f32>().unwrap();
        assert!(values.iter().all(|v| *v < 1e-15), "{values:?}");
    }

    #[test]
    #[should_panic(expected = "assert_shape!(query, [classes, queries, dim])")]
    fn prototypical_names_mismatched_classes() {
        let support = Tensor::<3>::zeros([3, 2, 4], &cpu());
        let query = Tensor::<3>::zeros([2, 2, 4], &cpu());
        PrototypicalLossConfig::new().init().forward(support, query);
    }

    #[test]
    fn contrastive_gradient_is_finite_for_identical_same_pair() {
        // A "same" pair at d = 0: the loss d² is 0 and so is its gradient, where a bare
        // sqrt's derivative 1/(2d) would be infinite and turn the gradient into NaN.
        let device = cpu().autodiff();
        let e1 = Tensor::<2>::from_floats([[0.1, 0.2]], &device).require_grad();
        let e2 = Tensor::<2>::from_floats([[0.1, 0.2]], &device).require_grad();
        let same = Tensor::<1, Bool>::from_data([true], &device);
        let loss = ContrastiveLossConfig::new().init().forward(e1.clone(), e2.clone(), same);
        assert_eq!(loss.clone().into_scalar::<f32>(), 0.0);
        let grads = loss.backward();
        for e in [e1, e2] {
            let g = e.grad(&grads).unwrap().into_data().try_to_vec::<f32>().unwrap();
            assert_eq!(g, vec![0.0, 0.0]);
        }
    }
}
