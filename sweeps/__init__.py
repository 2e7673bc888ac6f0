"""Optuna sweeps: storages, the crash-safe ablation grid and the TPE hyperparameter search."""
