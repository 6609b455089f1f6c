// Types of embed.js, the <siamese-digits> element (README: "Put it in a blog post" and
// "Theming, languages and events"). Hand-written. embed.js exports nothing: importing
// it defines the element, and these types describe what a page gets from it —
// `document.createElement('siamese-digits')`, its events and `window.siameseReady`.
//
//   import './embed.js';
//   import type { SiameseDigits } from './embed.js';

import type { EngineClient, EngineInfo, RunningBackend } from './worker-client.js';
import type { Backend, Network } from '../pkg/siamese_digits.js';

export type { Backend, Network, EngineClient, EngineInfo, RunningBackend };

/** `mode`: two pads and the distance; + the gallery; + the gallery, the map and the fine-tuning studio. */
export type Mode = 'compare' | 'gallery' | 'full';

/** `theme`: follow `prefers-color-scheme`, or fix the scheme. */
export type Theme = 'auto' | 'light' | 'dark';

/** A pad: A or B. */
export type Pad = 'a' | 'b';

/** The element's attributes (HTML gives them as strings; these are the values it reads). */
export interface SiameseDigitsAttributes {
  /** Default `compare`; anything else reads as `compare`. */
  mode?: Mode;
  /** Default `auto`; the page's `?backend=` wins. Every element on the page shares one engine. */
  backend?: Backend;
  /** URL of the wasm package, relative to embed.js; default `../pkg/`. Read when the page's engine starts (the first element's). */
  pkg?: string;
  /** URL of a gallery file, relative to the page: added once, only to an empty gallery. */
  gallery?: string;
  /** Default `default`; `seed` downloads the reference post's network. */
  model?: Network;
  /** Default `auto`. */
  theme?: Theme;
  /** The element's language; else the nearest `lang` above it, else English. */
  lang?: string;
}

/** `siamese-ready`: the element can be used. */
export interface SiameseReadyDetail {
  /** What answers then (`cpu` first, where WebGPU follows). */
  backend: RunningBackend;
  /** The "same digit" distance. */
  threshold: number;
}

/** `siamese-distance`: the distance shown changed. */
export interface SiameseDistanceDetail {
  /** Null while a pad is empty. */
  distance: number | null;
  /** Whether the distance is below the threshold; null while a pad is empty. */
  same: boolean | null;
  /** Whose change brought it; null for new weights or a move between backends. */
  pad: Pad | null;
}

/** `siamese-match`: a pad's match in the gallery changed. */
export interface SiameseMatchDetail {
  pad: Pad;
  /** The name matched; null for "none of these", an empty pad or an empty gallery. */
  label: string | null;
  /** The nearest name, even beyond the threshold; null for an empty pad or gallery. */
  nearest: string | null;
  /** The nearest name's distance; null for an empty pad or gallery. */
  distance: number | null;
}

/** `siamese-trained`: one fine-tuning step of a run. */
export interface SiameseTrainedDetail {
  /** 1 to `steps`. */
  step: number;
  steps: number;
  loss: number;
}

/** `siamese-error`: a failure the status line reports. */
export interface SiameseErrorDetail {
  /** The status line's words. */
  message: string;
  /** False where the element cannot go on. */
  recovered: boolean;
}

export type SiameseReadyEvent = CustomEvent<SiameseReadyDetail>;
export type SiameseDistanceEvent = CustomEvent<SiameseDistanceDetail>;
export type SiameseMatchEvent = CustomEvent<SiameseMatchDetail>;
export type SiameseTrainedEvent = CustomEvent<SiameseTrainedDetail>;
export type SiameseErrorEvent = CustomEvent<SiameseErrorDetail>;

/** The element's events: they bubble and are composed, so the page's document and window hear them too. */
export interface SiameseDigitsEvents {
  'siamese-ready': SiameseReadyEvent;
  'siamese-distance': SiameseDistanceEvent;
  'siamese-match': SiameseMatchEvent;
  'siamese-trained': SiameseTrainedEvent;
  'siamese-error': SiameseErrorEvent;
}

export interface SiameseDigitsEventMap extends HTMLElementEventMap, SiameseDigitsEvents {}

/** `<siamese-digits>`. Not exported by embed.js: get one from the document or `createElement`. */
export interface SiameseDigits extends HTMLElement {
  /** This build's version (Cargo.toml's), once the engine has started; else null. */
  readonly version: string | null;
  /** The page's engine client (shared by every element), once this element has joined it; null before, and once removed. */
  readonly client: EngineClient | null;

  addEventListener<K extends keyof SiameseDigitsEventMap>(type: K, listener: (this: SiameseDigits, ev: SiameseDigitsEventMap[K]) => any, options?: boolean | AddEventListenerOptions): void;
  addEventListener(type: string, listener: EventListenerOrEventListenerObject, options?: boolean | AddEventListenerOptions): void;
  removeEventListener<K extends keyof SiameseDigitsEventMap>(type: K, listener: (this: SiameseDigits, ev: SiameseDigitsEventMap[K]) => any, options?: boolean | EventListenerOptions): void;
  removeEventListener(type: string, listener: EventListenerOrEventListenerObject, options?: boolean | EventListenerOptions): void;
}

declare global {
  interface HTMLElementTagNameMap {
    'siamese-digits': SiameseDigits;
  }

  // Bubbling and composed: typed on every element, the document and the window.
  interface GlobalEventHandlersEventMap extends SiameseDigitsEvents {}

  interface Window {
    /** Resolves with the engine's info once the first element is ready (in `gallery` and `full`, its session restored). */
    siameseReady: Promise<EngineInfo>;
  }
}
