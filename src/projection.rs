//! A 2-D picture of the embedding space: principal component analysis, so the
//! page can place reference digits and the user's drawings on one map.

use serde::Serialize;

/// The two principal axes of a set of embeddings.
#[derive(Clone, Debug, Serialize)]
pub struct Pca {
    pub mean: Vec<f32>,
    pub axes: [Vec<f32>; 2],
}

impl Pca {
    /// Fit on `rows` (`n × dim`, flattened). Power iteration with deflation: the
    /// embedding is small (tens of dimensions), so this is exact enough and tiny.
    pub fn fit(rows: &[f32], dim: usize) -> Pca {
        assert!(dim > 0 && !rows.is_empty() && rows.len().is_multiple_of(dim), "{} values are not rows of {dim}", rows.len());
        let n = rows.len() / dim;
        let mut mean = vec![0.0f64; dim];
        for row in rows.chunks_exact(dim) {
            row.iter().zip(&mut mean).for_each(|(v, m)| *m += *v as f64 / n as f64);
        }
        let mut cov = vec![0.0f64; dim * dim];
        for row in rows.chunks_exact(dim) {
            let c: Vec<f64> = row.iter().zip(&mean).map(|(v, m)| *v as f64 - m).collect();
            for i in 0..dim {
                for j in 0..dim {
                    cov[i * dim + j] += c[i] * c[j] / n as f64;
                }
            }
        }
        let first = principal_axis(&cov, dim);
        let lambda: f64 = (0..dim).map(|i| first[i] * (0..dim).map(|j| cov[i * dim + j] * first[j]).sum::<f64>()).sum();
        for i in 0..dim {
            for j in 0..dim {
                cov[i * dim + j] -= lambda * first[i] * first[j];
            }
        }
        let second = principal_axis(&cov, dim);
        let f32s = |v: Vec<f64>| v.into_iter().map(|x| x as f32).collect::<Vec<f32>>();
        Pca { mean: f32s(mean), axes: [f32s(first), f32s(second)] }
    }

    /// The plane of a 2-D embedding as it is: no centring, the axes its own.
    pub fn plane() -> Pca {
        Pca { mean: vec![0.0, 0.0], axes: [vec![1.0, 0.0], vec![0.0, 1.0]] }
    }

    /// Coordinates of one embedding on the two axes.
    pub fn project(&self, row: &[f32]) -> [f32; 2] {
        let along = |axis: &[f32]| row.iter().zip(&self.mean).zip(axis).map(|((v, m), a)| (v - m) * a).sum();
        [along(&self.axes[0]), along(&self.axes[1])]
    }
}

fn principal_axis(cov: &[f64], dim: usize) -> Vec<f64> {
    // A fixed, non-degenerate start keeps the result deterministic.
    let mut v: Vec<f64> = (0..dim).map(|i| 1.0 + i as f64 / dim as f64).collect();
    for _ in 0..500 {
        let mut next: Vec<f64> = (0..dim).map(|i| (0..dim).map(|j| cov[i * dim + j] * v[j]).sum()).collect();
        let norm = next.iter().map(|x| x * x).sum::<f64>().sqrt();
        if norm < 1e-30 {
            break;
        }
        next.iter_mut().for_each(|x| *x /= norm);
        v = next;
    }
    // Fix the sign so the picture does not flip between runs or backends.
    let pivot = v.iter().copied().fold(0.0f64, |a, b| if b.abs() > a.abs() { b } else { a });
    if pivot < 0.0 {
        v.iter_mut().for_each(|x| *x = -*x);
    }
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_axes_of_a_stretched_cloud() {
        // Points spread ±3 along x, ±1 along y, none along z, centred on (1, 2, 3).
        let rows: Vec<f32> = [[4.0, 2.0, 3.0], [-2.0, 2.0, 3.0], [1.0, 3.0, 3.0], [1.0, 1.0, 3.0]].concat();
        let pca = Pca::fit(&rows, 3);
        assert_eq!(pca.mean, vec![1.0, 2.0, 3.0]);
        let close = |a: &[f32], b: &[f32]| a.iter().zip(b).all(|(x, y)| (x - y).abs() < 1e-4);
        assert!(close(&pca.axes[0], &[1.0, 0.0, 0.0]), "{:?}", pca.axes[0]);
        assert!(close(&pca.axes[1], &[0.0, 1.0, 0.0]), "{:?}", pca.axes[1]);
        assert!(close(&pca.project(&[4.0, 2.0, 3.0]), &[3.0, 0.0]));
        assert!(close(&pca.project(&[1.0, 1.0, 3.0]), &[0.0, -1.0]));
    }
}
