"""Datasets in the paper's format: annotations, features (three layouts plus our memory-mapped
store), validation, the train/validation/test split and padded batches.

CONTRACT (implemented by issue 3; other modules code against exactly this):

    load_dataset(config: Config) -> Dataset            # validates; InputError / DataWarning

    class Dataset:
        config: Config
        video_names: np.ndarray          # (N,) str
        labels: list[np.ndarray]         # N items, (n_i, 2) int64 rows [coarse_id, fine_id]
        segments: list[np.ndarray]       # N items, (n_i, 2) float64 rows [start_s, end_s]
        sec2clip_ratios: np.ndarray      # (N,) float64
        fine_to_coarse: np.ndarray       # (C,) int64, coarse id of each fine id
        features: FeatureStore
        lengths: np.ndarray              # (N,) int64, clips per video (== features.lengths)
        train_indices: np.ndarray        # (N_train,) int64, training videos (minus validation)
        val_indices: np.ndarray          # (N_val,) int64, empty unless haan.validation_fraction > 0
        test_indices: np.ndarray         # (N_test,) int64, videos num_training_videos..N-1
        num_videos: int                  # N
        num_fine_classes: int            # C  (config stats)
        num_coarse_classes: int          # G  (config stats)
        feature_size: int                # D

        def video_features(self, i: int) -> np.ndarray          # (T_i, D), may be a memmap view
        def padded_batch(self, indices) -> tuple[np.ndarray, np.ndarray]
            # features (B, T_max, D) float32 zero-padded, lengths (B,) int64
        def fine_multi_hot(self, indices) -> np.ndarray          # (B, C) float32
        def coarse_multi_hot(self, indices) -> np.ndarray        # (B, G) float32

    class FeatureStore:                  # read-only, never loads a dense file whole
        num_videos: int; feature_size: int; dtype: np.dtype; lengths: np.ndarray (N,) int64
        def __getitem__(self, i: int) -> np.ndarray              # (T_i, D)
"""
