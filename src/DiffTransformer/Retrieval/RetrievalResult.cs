using TorchSharp;
using static TorchSharp.torch;

namespace DiffTransformer.Retrieval;

/// <summary>How well a model retrieves the needles of a <see cref="NeedleRetrievalTask"/>.</summary>
/// <param name="Accuracy">Share of examples whose most likely token at the query position is the answer.</param>
/// <param name="Loss">Mean cross-entropy of the answers (nats).</param>
/// <param name="AccuracyByDepth">Accuracy per depth bucket (NaN for a bucket without examples).</param>
/// <param name="ExamplesByDepth">Examples per depth bucket.</param>
/// <param name="Allocation">Mean <see cref="AttentionAllocation"/> of the query over all examples.</param>
/// <param name="Correct">For each example, in order, whether the answer was the most likely token.</param>
public sealed record RetrievalResult(
    double Accuracy, double Loss, IReadOnlyList<double> AccuracyByDepth, IReadOnlyList<int> ExamplesByDepth,
    AttentionAllocation Allocation, IReadOnlyList<bool> Correct);
