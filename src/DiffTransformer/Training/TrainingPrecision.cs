namespace DiffTransformer;

/// <summary>Numeric precision of training.</summary>
public enum TrainingPrecision
{
    /// <summary>Weights, activations, gradients and optimizer state in float32 (the model must be float32).</summary>
    Float32,

    /// <summary>
    /// Weights and activations in bfloat16; float32 master weights receive the (float32-cast) gradients, are clipped and
    /// updated by AdamW in float32, and are rounded back into the bfloat16 model after every step. Losses and
    /// normalisations are computed in float32 by the model itself.
    /// </summary>
    BFloat16,
}
