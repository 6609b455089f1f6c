//! A scanned digit → the pen strokes that could have drawn it: the ink is thinned
//! to one-pixel centre lines (Zhang–Suen) and traced into polylines. Training uses
//! it to show the network digits inked the way the pads ink them ([`crate::strokes`]),
//! and the drawn-digit tests trace held-out digits into strokes to draw in the page.

use crate::model::IMAGE_SIDE;
use crate::preprocess::bilinear;
use crate::strokes::Stroke;

/// Tracing works on the digit enlarged this many times, for smooth centre lines.
const UP: usize = 4;
const SIDE: usize = IMAGE_SIDE * UP;

/// The centre lines of a 28×28 digit (ink 1), in its own pixel units.
pub fn trace(image: &[f32]) -> Vec<Stroke> {
    assert_eq!(image.len(), IMAGE_SIDE * IMAGE_SIDE, "trace takes a 28×28 image");
    let mut on: Vec<bool> = (0..SIDE * SIDE)
        .map(|i| {
            let (x, y) = ((i % SIDE) as f32 + 0.5, (i / SIDE) as f32 + 0.5);
            bilinear(image, x / UP as f32 - 0.5, y / UP as f32 - 0.5) > 0.5
        })
        .collect();
    thin(&mut on);
    let mut strokes: Vec<Stroke> = walk(&on)
        .into_iter()
        .map(|path| simplify(&path.iter().map(|&i| [(i % SIDE) as f32 + 0.5, (i / SIDE) as f32 + 0.5]).collect::<Vec<_>>(), 0.7))
        .map(|s| s.into_iter().map(|[x, y]| [x / UP as f32, y / UP as f32]).collect::<Stroke>())
        .collect();
    // Thinning leaves short spurs at corners; a lone short stroke is still the digit.
    let length = |s: &Stroke| s.windows(2).map(|w| ((w[1][0] - w[0][0]).powi(2) + (w[1][1] - w[0][1]).powi(2)).sqrt()).sum::<f32>();
    if strokes.len() > 1 {
        strokes.retain(|s| length(s) >= 1.5);
    }
    strokes
}

/// Pixel `i`'s neighbour `k` (0‥7 clockwise from north), if it is on the image.
fn neighbour_index(i: usize, k: usize) -> Option<usize> {
    let (dx, dy) = [(0, -1), (1, -1), (1, 0), (1, 1), (0, 1), (-1, 1), (-1, 0), (-1, -1)][k];
    let (nx, ny) = ((i % SIDE) as isize + dx, (i / SIDE) as isize + dy);
    ((0..SIDE as isize).contains(&nx) && (0..SIDE as isize).contains(&ny)).then(|| (ny * SIDE as isize + nx) as usize)
}

/// The 8 neighbours of pixel `i` clockwise from north (P2‥P9 in Zhang–Suen), off-image ones off.
fn neighbours(on: &[bool], i: usize) -> [bool; 8] {
    std::array::from_fn(|k| neighbour_index(i, k).is_some_and(|n| on[n]))
}

/// Zhang–Suen thinning, in place.
fn thin(on: &mut [bool]) {
    loop {
        let mut changed = false;
        for pass in 0..2 {
            let remove: Vec<usize> = (0..on.len())
                .filter(|&i| on[i])
                .filter(|&i| {
                    let p = neighbours(on, i);
                    let count = p.iter().filter(|&&v| v).count();
                    let transitions = (0..8).filter(|&k| !p[k] && p[(k + 1) % 8]).count();
                    let (a, b) = if pass == 0 { (p[0] && p[2] && p[4], p[2] && p[4] && p[6]) } else { (p[0] && p[2] && p[6], p[0] && p[4] && p[6]) };
                    (2..=6).contains(&count) && transitions == 1 && !a && !b
                })
                .collect();
            changed |= !remove.is_empty();
            remove.into_iter().for_each(|i| on[i] = false);
        }
        if !changed {
            return;
        }
    }
}

/// One-pixel-wide lines → pixel paths: from line ends first, then whatever is left
/// (loops), each path joined to an already traced pixel where it touches one.
fn walk(on: &[bool]) -> Vec<Vec<usize>> {
    let mut seen = vec![false; on.len()];
    let free = |seen: &[bool], i: usize| -> Vec<usize> {
        // Edge neighbours first: they keep the path on the line through diagonal steps.
        [0, 2, 4, 6, 1, 3, 5, 7].into_iter().filter_map(|k| neighbour_index(i, k)).filter(|&n| on[n] && !seen[n]).collect()
    };
    let mut paths = Vec::new();
    loop {
        let start = (0..on.len()).filter(|&i| on[i] && !seen[i]).min_by_key(|&i| free(&seen, i).len());
        let Some(start) = start else { return paths };
        let mut path = Vec::new();
        if let Some(joint) = (0..8).filter_map(|k| neighbour_index(start, k)).find(|&n| seen[n]) {
            path.push(joint);
        }
        let mut current = start;
        loop {
            seen[current] = true;
            path.push(current);
            match free(&seen, current).first() {
                Some(&next) => current = next,
                None => {
                    // Close a loop or meet a traced branch instead of stopping a pixel short.
                    let before = path.len().saturating_sub(3);
                    if let Some(joint) = (0..8).filter_map(|k| neighbour_index(current, k)).find(|&n| seen[n] && !path[before..].contains(&n)) {
                        path.push(joint);
                    }
                    break;
                }
            }
        }
        paths.push(path);
    }
}

/// Douglas–Peucker: drop points closer than `tolerance` to the line they sit on.
fn simplify(points: &[[f32; 2]], tolerance: f32) -> Vec<[f32; 2]> {
    if points.len() < 3 {
        return points.to_vec();
    }
    let (a, b) = (points[0], points[points.len() - 1]);
    let (far, distance) = points[1..points.len() - 1]
        .iter()
        .enumerate()
        .map(|(k, p)| (k + 1, line_distance(*p, a, b)))
        .fold((0, -1.0f32), |best, c| if c.1 > best.1 { c } else { best });
    if distance <= tolerance {
        return vec![a, b];
    }
    let mut left = simplify(&points[..=far], tolerance);
    left.pop();
    left.extend(simplify(&points[far..], tolerance));
    left
}

fn line_distance(p: [f32; 2], a: [f32; 2], b: [f32; 2]) -> f32 {
    let (dx, dy) = (b[0] - a[0], b[1] - a[1]);
    let len = (dx * dx + dy * dy).sqrt();
    if len == 0.0 {
        return ((p[0] - a[0]).powi(2) + (p[1] - a[1]).powi(2)).sqrt();
    }
    ((p[0] - a[0]) * dy - (p[1] - a[1]) * dx).abs() / len
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::IMAGE_PIXELS;

    fn paint(f: impl Fn(usize, usize) -> bool) -> Vec<f32> {
        (0..IMAGE_PIXELS).map(|i| if f(i % IMAGE_SIDE, i / IMAGE_SIDE) { 1.0 } else { 0.0 }).collect()
    }

    #[test]
    fn a_thick_bar_becomes_one_straight_centre_line() {
        // Columns 12‥15 (centre x = 14), rows 4‥23.
        let strokes = trace(&paint(|x, y| (12..16).contains(&x) && (4..24).contains(&y)));
        assert_eq!(strokes.len(), 1, "{strokes:?}");
        let line = &strokes[0];
        assert!(line.len() <= 3, "{line:?}");
        for p in line {
            assert!((p[0] - 14.0).abs() < 0.5, "{line:?}");
        }
        let (top, bottom) = (line[0][1].min(line[line.len() - 1][1]), line[0][1].max(line[line.len() - 1][1]));
        assert!(top < 7.0 && bottom > 21.0, "{line:?}");
    }

    #[test]
    fn a_ring_is_traced_closed() {
        let ring = paint(|x, y| {
            let r = ((x as f32 + 0.5 - 14.0).powi(2) + (y as f32 + 0.5 - 14.0).powi(2)).sqrt();
            (6.0..9.0).contains(&r)
        });
        let strokes = trace(&ring);
        assert_eq!(strokes.len(), 1, "{strokes:?}");
        let (first, last) = (strokes[0][0], *strokes[0].last().unwrap());
        assert!(((first[0] - last[0]).powi(2) + (first[1] - last[1]).powi(2)).sqrt() < 0.6, "open ring: {first:?} … {last:?}");
        for p in &strokes[0] {
            let r = ((p[0] - 14.0).powi(2) + (p[1] - 14.0).powi(2)).sqrt();
            assert!((6.5..8.5).contains(&r), "{p:?} is {r} from the centre");
        }
    }

    #[test]
    fn a_cross_gives_strokes_that_meet() {
        let plus = paint(|x, y| ((13..15).contains(&x) && (4..24).contains(&y)) || ((13..15).contains(&y) && (4..24).contains(&x)));
        let strokes = trace(&plus);
        assert!((2..=4).contains(&strokes.len()), "{strokes:?}");
        // Every stroke touches the crossing (14, 14).
        for s in &strokes {
            let near = s.iter().map(|p| ((p[0] - 14.0).powi(2) + (p[1] - 14.0).powi(2)).sqrt()).fold(f32::MAX, f32::min);
            assert!(near < 1.0, "{s:?}");
        }
    }
}
