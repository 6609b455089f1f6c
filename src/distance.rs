//! The one distance of the project: Euclidean distance between embeddings.

use burn::tensor::{Tensor, assert_shape};

/// Added under the square root so its gradient stays finite when two embeddings
/// coincide; subtracted back so identical embeddings are exactly 0 apart.
const EPS: f32 = 1e-12;

/// Row-wise Euclidean distance `‖a_i - b_i‖`.
///
/// # Shapes
///
/// - a, b: `[batch, embedding]`
/// - output: `[batch]`
pub fn euclidean(a: Tensor<2>, b: Tensor<2>) -> Tensor<1> {
    let [batch, dim] = a.dims();
    assert_shape!(b, [batch, dim]);
    let squared: Tensor<1> = (a - b).square().sum_dim(1).squeeze_dim(1); // [batch]
    squared.add_scalar(EPS).sqrt().sub_scalar(EPS.sqrt())
}

/// Euclidean distances between every row of `a` and every row of `b`.
///
/// # Shapes
///
/// - a: `[n, embedding]`, b: `[m, embedding]`
/// - output: `[n, m]`
pub fn euclidean_matrix(a: Tensor<2>, b: Tensor<2>) -> Tensor<2> {
    let [_, dim] = a.dims();
    let [m, _] = b.dims();
    assert_shape!(b, [m, dim]);
    let a_sq = a.clone().square().sum_dim(1); // [n, 1]
    let b_sq = b.clone().square().sum_dim(1).transpose(); // [1, m]
    let cross = a.matmul(b.transpose()); // [n, m]
    // Rounding can make the expansion slightly negative for near-identical rows.
    let squared = (a_sq + b_sq - cross.mul_scalar(2.0)).clamp_min(0.0);
    squared.add_scalar(EPS).sqrt().sub_scalar(EPS.sqrt()) // [n, m]
}

/// [`euclidean`] for one pair of embeddings already read back to the host.
pub fn euclidean_host(a: &[f32], b: &[f32]) -> f32 {
    assert_eq!(a.len(), b.len(), "embeddings of {} and {} values", a.len(), b.len());
    let squared: f32 = a.iter().zip(b).map(|(x, y)| (x - y) * (x - y)).sum();
    (squared + EPS).sqrt() - EPS.sqrt()
}

/// Indices of the `k` rows of `points` (`n × dim`, flattened) nearest to `query`,
/// nearest first (ties keep row order).
pub fn nearest(points: &[f32], dim: usize, query: &[f32], k: usize) -> Vec<usize> {
    let mut order: Vec<(f32, usize)> = points.chunks_exact(dim).map(|p| euclidean_host(p, query)).zip(0..).collect();
    order.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
    order.into_iter().take(k).map(|(_, i)| i).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend::cpu as test_device;
    use burn::tensor::{Tensor, TensorData, Tolerance};

    #[test]
    fn distances_match_hand_values() {
        let device = test_device();
        let a = Tensor::<2>::from_floats([[0.0, 0.0], [1.0, 2.0], [-1.0, 0.5]], &device);
        let b = Tensor::<2>::from_floats([[3.0, 4.0], [1.0, 2.0], [-1.0, -1.5]], &device);
        euclidean(a, b).into_data().assert_approx_eq::<f32>(&TensorData::from([5.0, 0.0, 2.0]), Tolerance::default());
    }

    #[test]
    fn nearest_rows_come_first() {
        // Rows (0, 0), (3, 4), (1, 0), (0, −1) from (0.9, 0): 0.9, 4.9, 0.1, 1.35.
        let points = [0.0, 0.0, 3.0, 4.0, 1.0, 0.0, 0.0, -1.0];
        assert_eq!(nearest(&points, 2, &[0.9, 0.0], 3), vec![2, 0, 3]);
        assert_eq!(nearest(&points, 2, &[0.9, 0.0], 10), vec![2, 0, 3, 1]);
    }

    #[test]
    fn host_version_agrees() {
        let a = [0.25f32, -1.0, 3.0];
        let b = [1.0f32, 0.5, -2.0];
        let t = |v: [f32; 3]| Tensor::<2>::from_floats([v], &test_device());
        let tensor: f32 = euclidean(t(a), t(b)).into_scalar();
        assert!((euclidean_host(&a, &b) - tensor).abs() < 1e-6);
        assert_eq!(euclidean_host(&a, &a), 0.0);
    }

    #[test]
    fn identical_rows_are_exactly_zero_apart() {
        let device = test_device();
        let a = Tensor::<2>::from_floats([[0.3, -0.7, 0.1]], &device);
        let d: f32 = euclidean(a.clone(), a).into_scalar();
        assert_eq!(d, 0.0);
    }

    #[test]
    fn matrix_matches_row_wise() {
        let device = test_device();
        let a = Tensor::<2>::from_floats([[0.0, 0.0], [1.0, 1.0]], &device);
        let b = Tensor::<2>::from_floats([[3.0, 4.0], [1.0, 1.0], [0.0, 1.0]], &device);
        let expected = TensorData::from([[5.0, 2f32.sqrt(), 1.0], [(4.0f32 + 9.0).sqrt(), 0.0, 1.0]]);
        euclidean_matrix(a, b).into_data().assert_approx_eq::<f32>(&expected, Tolerance::absolute(1e-3));
    }

    #[test]
    fn gradient_is_finite_when_embeddings_coincide() {
        let device = test_device().autodiff();
        let a = Tensor::<2>::from_floats([[0.5, -0.25]], &device).require_grad();
        let b = Tensor::<2>::from_floats([[0.5, -0.25]], &device).require_grad();
        let d = euclidean(a.clone(), b);
        let grads = d.sum().backward();
        let g = a.grad(&grads).expect("gradient of a").into_data().try_to_vec::<f32>().unwrap();
        assert!(g.iter().all(|v| v.is_finite()), "gradient at d = 0 must be finite, got {g:?}");
    }
}
