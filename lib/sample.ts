/** The one record every dataset loader yields, whatever the publisher's format. */
import type { Emotion } from "./taxonomy.ts";

/** Face box in pixel coordinates of the source image (x, y = top-left corner). */
export interface FaceBox {
  x: number;
  y: number;
  width: number;
  height: number;
}

/** Raw 8-bit pixels held in memory (e.g. a row of the Kaggle `fer2013.csv`). */
export interface PixelSource {
  kind: "pixels";
  width: number;
  height: number;
  /** 1 = gray, 3 = RGB; row-major, interleaved. */
  channels: 1 | 3;
  data: Uint8Array;
}

/** An image file on disk (PNG, JPEG, TIFF, ...). */
export interface FileSource {
  kind: "file";
  path: string;
}

export type ImageSource = PixelSource | FileSource;

/** Dataset split names used across the kit. */
export type Split = "train" | "val" | "test";

/** One labelled face. */
export interface Sample {
  /** Unique within the dataset, stable across machines (e.g. "fer0000123.png", "S005_001_00000011"). */
  id: string;
  source: ImageSource;
  /** Face box within the source image; absent when the image is already a face crop. */
  box?: FaceBox;
  label: Emotion;
  /** Split as the publisher defines it (or as the kit's saved split manifests define it). */
  split: Split;
  /**
   * Annotator votes per canonical emotion (FER+: 10 crowd votes), when the dataset has them.
   * Keys are canonical emotion names; `other` counts votes for unknown / not-a-face.
   */
  votes?: Partial<Record<Emotion | "other", number>>;
  /** Optional grouping key (CK+ subject) for group-disjoint splits. */
  group?: string;
}
