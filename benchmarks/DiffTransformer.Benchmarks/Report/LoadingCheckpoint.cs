using static TorchSharp.torch;

namespace DiffTransformer.Benchmarks;

/// <summary>One Hugging Face directory written by <see cref="LoadingCheckpoints.Generate"/>.</summary>
/// <param name="Model">The Hugging Face <c>model_type</c>: <c>llama</c> (softmax) or <c>diffllama</c> (V1).</param>
/// <param name="Stored">The dtype of the stored weights.</param>
/// <param name="Directory">The model directory.</param>
/// <param name="WarmDirectory">A tiny model of the same type and stored dtype, loaded first so that one-off set-up is not counted.</param>
/// <param name="Files">Weight files (1, or the shards).</param>
/// <param name="FileBytes">Bytes of the weight files (headers included).</param>
/// <param name="Parameters">Parameters of the model.</param>
public sealed record LoadingCheckpoint(string Model, ScalarType Stored, string Directory, string WarmDirectory, int Files, long FileBytes, long Parameters);
