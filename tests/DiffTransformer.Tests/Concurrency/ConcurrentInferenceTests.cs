using TorchSharp;
using static TorchSharp.torch;

namespace DiffTransformer.Tests;

/// <summary>
/// The serving contract: inference from many threads on one model (<c>forward</c> under no_grad, with and without a
/// cache, <c>Generate</c> greedy and seeded, <c>GenerateStream</c>, <c>GenerateStreamAsync</c>) gives bitwise the
/// results of the same requests run one after another, and leaves no live tensor behind on any thread.
/// </summary>
public class ConcurrentInferenceTests
{
    [Theory]
    [InlineData(AttentionKind.Softmax)]
    [InlineData(AttentionKind.Differential)]
    [InlineData(AttentionKind.DifferentialV2)]
    public void EightThreadsGiveTheSequentialResults(AttentionKind kind)
    {
        // Two models with the same weights: the shared one is first used by the eight threads at once, so that its lazily
        // made state (the rotary embedding) is made under the race too.
        using var reference = Decoding.Model(kind, kvHeads: 1, dtype: ScalarType.Float32);
        using var shared = Decoding.Model(kind, kvHeads: 1, dtype: ScalarType.Float32);
        var expected = Enumerable.Range(0, ServingRequests.Threads).Select(i => ServingRequests.Run(reference, i, barrier: null)).ToArray();
        try
        {
            long everywhere = Workers.LiveTensorsEverywhere();
            var leaked = Workers.Run(ServingRequests.Threads, (i, barrier) =>
            {
                using var actual = ServingRequests.Run(shared, i, barrier);
                expected[i].AssertSameAs(actual, $"thread {i}");
            });
            Assert.Equal(new long[ServingRequests.Threads], leaked);
            Assert.Equal(everywhere, Workers.LiveTensorsEverywhere()); // the async stream's steps run on thread-pool threads

            // And sequentially again on the shared model: it was left as it was.
            using var again = ServingRequests.Run(shared, 5, barrier: null);
            expected[5].AssertSameAs(again, "thread 5, afterwards");
        }
        finally
        {
            foreach (var e in expected) e.Dispose();
        }
    }
}
