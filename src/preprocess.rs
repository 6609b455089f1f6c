//! Any grayscale raster → the 28×28 MNIST convention. Training, tests and the page
//! all call [`raster_to_mnist`], so a drawing is seen exactly as the digits were.
//!
//! MNIST's recipe: crop to the ink, scale the longer side to 20 px keeping the
//! aspect ratio (anti-aliased), then place the centre of mass at (14, 14).
//! Ink is 1, background 0 — the values the encoder was trained on.

use std::fmt;

use crate::model::{IMAGE_PIXELS, IMAGE_SIDE};

/// Longer side of the digit's box inside the 28×28 field.
const BOX: usize = 20;
/// Pixels with less ink than this fraction of the strongest are background noise.
const INK_FLOOR: f32 = 0.1;

/// Why a raster cannot become a digit.
#[derive(Debug, Clone, PartialEq)]
pub enum PreprocessError {
    /// Width or height is zero.
    EmptyRaster { width: usize, height: usize },
    /// The buffer does not hold `width × height` (× channels) values.
    WrongLength { expected: usize, got: usize, width: usize, height: usize, channels: usize },
    /// A value is NaN or infinite.
    NotFinite { index: usize },
    /// Nothing is drawn.
    NoInk,
    /// Stroke arrays that do not describe a drawing.
    BadStrokes(String),
}

impl fmt::Display for PreprocessError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::EmptyRaster { width, height } => write!(f, "the image is {width}×{height}: it has no pixels"),
            Self::WrongLength { expected, got, width, height, channels } => write!(
                f,
                "expected {expected} values ({width}×{height} pixels × {channels} channel(s)), got {got}"
            ),
            Self::NotFinite { index } => write!(f, "value {index} is not a finite number"),
            Self::NoInk => write!(f, "nothing is drawn: the image is blank"),
            Self::BadStrokes(why) => write!(f, "the strokes are invalid: {why}"),
        }
    }
}

impl std::error::Error for PreprocessError {}

/// RGBA bytes (a canvas's `ImageData`) → grayscale in [0, 1], each pixel composited
/// over white so a transparent canvas reads as white paper.
pub fn rgba_to_gray(rgba: &[u8], width: usize, height: usize) -> Result<Vec<f32>, PreprocessError> {
    check_size(rgba.len(), width, height, 4)?;
    Ok(rgba
        .chunks_exact(4)
        .map(|p| {
            let luma = 0.299 * p[0] as f32 + 0.587 * p[1] as f32 + 0.114 * p[2] as f32;
            let alpha = p[3] as f32 / 255.0;
            (luma * alpha + 255.0 * (1.0 - alpha)) / 255.0
        })
        .collect())
}

/// A grayscale raster (row-major, any polarity: dark ink on light paper or light on
/// dark) → a 28×28 image with ink 1 and background 0.
pub fn raster_to_mnist(gray: &[f32], width: usize, height: usize) -> Result<[f32; IMAGE_PIXELS], PreprocessError> {
    check_size(gray.len(), width, height, 1)?;
    if let Some(index) = gray.iter().position(|v| !v.is_finite()) {
        return Err(PreprocessError::NotFinite { index });
    }
    let ink = ink_map(gray, width, height);
    let peak = ink.iter().copied().fold(0.0f32, f32::max);
    if peak <= 1e-3 {
        return Err(PreprocessError::NoInk);
    }
    let (x0, y0, x1, y1) = bounding_box(&ink, width, peak * INK_FLOOR).ok_or(PreprocessError::NoInk)?;
    let (cw, ch) = (x1 - x0, y1 - y0);
    let crop: Vec<f32> = (y0..y1).flat_map(|y| ink[y * width + x0..y * width + x1].iter().copied()).collect();

    let scale = BOX as f32 / cw.max(ch) as f32;
    let tw = ((cw as f32 * scale).round() as usize).clamp(1, BOX);
    let th = ((ch as f32 * scale).round() as usize).clamp(1, BOX);
    let mut small = resample(&crop, cw, ch, tw, th);
    let small_peak = small.iter().copied().fold(0.0f32, f32::max);
    small.iter_mut().for_each(|v| *v = (*v / small_peak).min(1.0));

    let (cx, cy) = centre_of_mass(&small, tw);
    let dx = (IMAGE_SIDE as f32 / 2.0 - cx).round() as isize;
    let dy = (IMAGE_SIDE as f32 / 2.0 - cy).round() as isize;
    let mut out = [0.0f32; IMAGE_PIXELS];
    for y in 0..th {
        for x in 0..tw {
            let (ox, oy) = (x as isize + dx, y as isize + dy);
            if (0..IMAGE_SIDE as isize).contains(&ox) && (0..IMAGE_SIDE as isize).contains(&oy) {
                out[oy as usize * IMAGE_SIDE + ox as usize] = small[y * tw + x];
            }
        }
    }
    Ok(out)
}

fn check_size(len: usize, width: usize, height: usize, channels: usize) -> Result<(), PreprocessError> {
    if width == 0 || height == 0 {
        return Err(PreprocessError::EmptyRaster { width, height });
    }
    let expected = width * height * channels;
    if len != expected {
        return Err(PreprocessError::WrongLength { expected, got: len, width, height, channels });
    }
    Ok(())
}

/// Ink = distance from the background, taken as the median of the border pixels.
fn ink_map(gray: &[f32], width: usize, height: usize) -> Vec<f32> {
    let mut border: Vec<f32> = (0..width)
        .flat_map(|x| [gray[x], gray[(height - 1) * width + x]])
        .chain((0..height).flat_map(|y| [gray[y * width], gray[y * width + width - 1]]))
        .collect();
    border.sort_by(f32::total_cmp);
    let background = border[border.len() / 2];
    gray.iter().map(|v| (v - background).abs()).collect()
}

/// Half-open box `(x0, y0, x1, y1)` of the pixels above `floor`.
fn bounding_box(ink: &[f32], width: usize, floor: f32) -> Option<(usize, usize, usize, usize)> {
    let mut bounds: Option<(usize, usize, usize, usize)> = None;
    for (i, _) in ink.iter().enumerate().filter(|(_, v)| **v > floor) {
        let (x, y) = (i % width, i / width);
        bounds = Some(match bounds {
            None => (x, y, x + 1, y + 1),
            Some((x0, y0, x1, y1)) => (x0.min(x), y0.min(y), x1.max(x + 1), y1.max(y + 1)),
        });
    }
    bounds
}

/// Area-average resampling (a box filter over each target pixel's footprint):
/// anti-aliased when shrinking, blocky but exact when enlarging.
fn resample(src: &[f32], sw: usize, sh: usize, tw: usize, th: usize) -> Vec<f32> {
    let wx = area_weights(sw, tw);
    let wy = area_weights(sh, th);
    // Horizontal pass: [sh, tw], then vertical: [th, tw].
    let mut rows = vec![0.0f32; sh * tw];
    for y in 0..sh {
        for (tx, weights) in wx.iter().enumerate() {
            rows[y * tw + tx] = weights.iter().map(|&(sx, w)| w * src[y * sw + sx]).sum();
        }
    }
    let mut out = vec![0.0f32; th * tw];
    for (ty, weights) in wy.iter().enumerate() {
        for tx in 0..tw {
            out[ty * tw + tx] = weights.iter().map(|&(sy, w)| w * rows[sy * tw + tx]).sum();
        }
    }
    out
}

/// For each target cell, the source cells it covers and their weights (summing to 1).
fn area_weights(src: usize, dst: usize) -> Vec<Vec<(usize, f32)>> {
    let step = src as f32 / dst as f32;
    (0..dst)
        .map(|t| {
            let (lo, hi) = (t as f32 * step, (t + 1) as f32 * step);
            (lo.floor() as usize..(hi.ceil() as usize).min(src))
                .filter_map(|s| {
                    let overlap = (hi.min(s as f32 + 1.0) - lo.max(s as f32)).max(0.0);
                    (overlap > 0.0).then_some((s, overlap / step))
                })
                .collect()
        })
        .collect()
}

/// A 28×28 image sampled at a fractional pixel position (pixel centres at
/// integers), bilinearly; outside the image is blank.
pub(crate) fn bilinear(image: &[f32], x: f32, y: f32) -> f32 {
    let at = |xi: isize, yi: isize| -> f32 {
        let n = IMAGE_SIDE as isize;
        if (0..n).contains(&xi) && (0..n).contains(&yi) { image[(yi * n + xi) as usize] } else { 0.0 }
    };
    let (x0, y0) = (x.floor(), y.floor());
    let (fx, fy) = (x - x0, y - y0);
    let (x0, y0) = (x0 as isize, y0 as isize);
    at(x0, y0) * (1.0 - fx) * (1.0 - fy) + at(x0 + 1, y0) * fx * (1.0 - fy) + at(x0, y0 + 1) * (1.0 - fx) * fy + at(x0 + 1, y0 + 1) * fx * fy
}

/// Centre of mass in pixel-centre coordinates (pixel `i` spans `[i, i+1)`).
pub(crate) fn centre_of_mass(img: &[f32], width: usize) -> (f32, f32) {
    let (mut total, mut sx, mut sy) = (0.0f32, 0.0f32, 0.0f32);
    for (i, &v) in img.iter().enumerate() {
        total += v;
        sx += v * ((i % width) as f32 + 0.5);
        sy += v * ((i / width) as f32 + 0.5);
    }
    (sx / total, sy / total)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn canvas(width: usize, height: usize, paint: impl Fn(usize, usize) -> bool) -> Vec<f32> {
        (0..width * height).map(|i| if paint(i % width, i / width) { 0.0 } else { 1.0 }).collect()
    }

    fn bbox_28(img: &[f32; IMAGE_PIXELS]) -> (usize, usize, usize, usize) {
        bounding_box(img, IMAGE_SIDE, 0.0).unwrap()
    }

    #[test]
    fn a_filled_square_becomes_a_centred_20px_square() {
        // Black 100×100 square at (37, 12) on a white 200×150 canvas.
        let gray = canvas(200, 150, |x, y| (37..137).contains(&x) && (12..112).contains(&y));
        let img = raster_to_mnist(&gray, 200, 150).unwrap();
        assert_eq!(bbox_28(&img), (4, 4, 24, 24));
        assert!(img.iter().all(|&v| v == 0.0 || (v - 1.0).abs() < 1e-6));
        let (cx, cy) = centre_of_mass(&img, IMAGE_SIDE);
        assert!((cx - 14.0).abs() < 1e-4 && (cy - 14.0).abs() < 1e-4, "({cx}, {cy})");
    }

    #[test]
    fn aspect_ratio_is_kept() {
        // A 40 wide × 160 tall bar → 5 × 20 in the 28×28 field, centred.
        let gray = canvas(300, 300, |x, y| (100..140).contains(&x) && (50..210).contains(&y));
        let img = raster_to_mnist(&gray, 300, 300).unwrap();
        let (x0, y0, x1, y1) = bbox_28(&img);
        assert_eq!((x1 - x0, y1 - y0), (5, 20));
        assert_eq!((y0, x0), (4, 12)); // x shift = round(14 - 2.5) = 12
    }

    #[test]
    fn shrinking_anti_aliases() {
        // Scaled by 20/40, a 2 px line fills a pixel and a 1 px line half of one: grey, not black.
        // Ink spans 40×40 of a 44×44 canvas; the border stays paper.
        let gray = canvas(44, 44, |x, y| [2, 3, 22, 40, 41].contains(&x) && (2..42).contains(&y));
        let img = raster_to_mnist(&gray, 44, 44).unwrap();
        let row: Vec<f32> = img[14 * IMAGE_SIDE..15 * IMAGE_SIDE].to_vec();
        assert_eq!(row.iter().filter(|&&v| v == 1.0).count(), 2, "{row:?}");
        assert_eq!(row.iter().filter(|&&v| (v - 0.5).abs() < 1e-6).count(), 1, "{row:?}");
    }

    #[test]
    fn polarity_does_not_matter() {
        let dark_on_light = canvas(60, 60, |x, y| (10..50).contains(&x) && (20..30).contains(&y));
        let light_on_dark: Vec<f32> = dark_on_light.iter().map(|v| 1.0 - v).collect();
        assert_eq!(raster_to_mnist(&dark_on_light, 60, 60).unwrap(), raster_to_mnist(&light_on_dark, 60, 60).unwrap());
    }

    #[test]
    fn mnist_digits_come_back_unchanged_in_shape() {
        // A 28×28 image already in MNIST form keeps its box size (20 px long side).
        let mut src = vec![0.0f32; IMAGE_PIXELS];
        for y in 4..24 {
            for x in 11..17 {
                src[y * IMAGE_SIDE + x] = 1.0;
            }
        }
        let img = raster_to_mnist(&src, 28, 28).unwrap();
        let (x0, y0, x1, y1) = bbox_28(&img);
        assert_eq!((x1 - x0, y1 - y0), (6, 20));
    }

    #[test]
    fn rgba_transparent_canvas_reads_as_white() {
        let rgba = [0, 0, 0, 0, 0, 0, 0, 255, 255, 255, 255, 255];
        assert_eq!(rgba_to_gray(&rgba, 3, 1).unwrap(), vec![1.0, 0.0, 1.0]);
    }

    #[test]
    fn bilinear_weighs_the_four_nearest_pixels() {
        let mut img = [0.0; IMAGE_PIXELS];
        img[0] = 1.0; // (0, 0)
        img[1] = 0.5; // (1, 0)
        assert_eq!(bilinear(&img, 0.0, 0.0), 1.0);
        assert_eq!(bilinear(&img, 0.5, 0.0), 0.75);
        assert_eq!(bilinear(&img, 0.5, 0.5), 0.375); // (1 + 0.5 + 0 + 0) / 4
        assert_eq!(bilinear(&img, -0.5, 0.0), 0.5); // half off the image
        assert_eq!(bilinear(&img, 40.0, 3.0), 0.0);
    }

    #[test]
    fn errors_are_clear() {
        assert_eq!(raster_to_mnist(&[1.0; 100], 10, 10), Err(PreprocessError::NoInk));
        let err = raster_to_mnist(&[1.0; 99], 10, 10).unwrap_err();
        assert_eq!(err.to_string(), "expected 100 values (10×10 pixels × 1 channel(s)), got 99");
        let mut nan = vec![1.0; 100];
        nan[42] = f32::NAN;
        assert_eq!(raster_to_mnist(&nan, 10, 10), Err(PreprocessError::NotFinite { index: 42 }));
        assert_eq!(raster_to_mnist(&[], 0, 5), Err(PreprocessError::EmptyRaster { width: 0, height: 5 }));
        assert!(matches!(rgba_to_gray(&[0; 7], 2, 1), Err(PreprocessError::WrongLength { expected: 8, .. })));
    }
}
