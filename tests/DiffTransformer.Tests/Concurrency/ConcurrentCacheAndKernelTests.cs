#pragma warning disable xUnit1051 // each generation here takes milliseconds; the workers wait with timeouts of their own
using TorchSharp;
using static TorchSharp.torch;

namespace DiffTransformer.Tests;

/// <summary>
/// A KV cache serves one call at a time (a second, overlapping user is refused, and the first completes unharmed), and
/// changing <see cref="CausalSelfAttention.Kernel"/> while calls run takes effect at the next layer call. Overlap is
/// made with events, never with sleeps: a forward hook on block 0's feed-forward pauses a call in the middle, after
/// layer 0's attention and before layer 1's.
/// </summary>
public class ConcurrentCacheAndKernelTests
{
    static readonly long[] Prompt = Decoding.RandomTokens(7, 31);
    static readonly GenerationOptions Options = new() { MaxNewTokens = 6 };

    [Fact]
    public void AStreamHoldsItsCacheAndOtherUsersAreRefused()
    {
        using var model = Decoding.Model(AttentionKind.Differential, kvHeads: 1, dtype: ScalarType.Float32);
        var expected = model.GenerateStream(Prompt, Options).ToList();
        var cache = model.CreateCache();
        using var open = new ManualResetEventSlim();
        using var tried = new ManualResetEventSlim();
        var streamed = new List<GeneratedToken>();
        var worker = Workers.Start(() =>
        {
            foreach (var token in model.GenerateStream(Prompt, Options, cache))
            {
                streamed.Add(token);
                if (streamed.Count != 1) continue;
                open.Set();
                Workers.Await(tried, "the other users");
            }
        });
        Workers.Await(open, "the stream's first token");
        using (var scope = NewDisposeScope())
        using (no_grad())
        {
            var tokens = tensor(Prompt).unsqueeze(0);
            var hidden = randn(1, Prompt.Length, model.Config.EmbedDim);
            AssertInUse(() => model.forward(tokens, cache), "DiffTransformerLM.forward: this KvCache is already in use");
            AssertInUse(() => model.Generate(Prompt, Options, cache), "Generation: this KvCache is already in use");
            AssertInUse(() => model.GenerateStream(Prompt, Options, cache).First(), "Generation: this KvCache is already in use");
            AssertInUse(() => model.Blocks[0].forward(hidden, new AttentionContext { Cache = cache.Layers[0] }), "DiffTransformerBlock.forward: this KvCache");
            AssertInUse(() => model.Blocks[0].Attention.forward(hidden, new AttentionContext { Cache = cache.Layers[0] }), "Differential attention forward: this KvCache");
            AssertInUse(cache.Reset, "KvCache.Reset: this KvCache is in use");
            AssertInUse(() => cache.Crop(0), "KvCache.Crop: this KvCache is in use");
            AssertInUse(() => cache.EnsureCapacity(64), "KvCache.EnsureCapacity: this KvCache is in use");
            AssertInUse(cache.Dispose, "KvCache.Dispose: this KvCache is in use");
            AssertInUse(cache.Layers[1].Reset, "KvCacheLayer.Reset: this KvCache is in use");
            AssertInUse(cache.Layers[1].Dispose, "KvCacheLayer.Dispose: this KvCache is in use");
        }
        tried.Set();
        Workers.Join(worker);
        Assert.Equal(expected, streamed);
        Assert.Equal(expected.Select(t => t.Token), model.Generate(Prompt, Options, cache).Tokens); // free again
        cache.Dispose();
    }

    [Fact]
    public void AForwardHoldsItsCacheForTheCall()
    {
        using var model = Decoding.Model(AttentionKind.Softmax, kvHeads: 1, dtype: ScalarType.Float32);
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        var tokens = tensor(Prompt).unsqueeze(0);
        using var reference = model.CreateCache();
        var expected = model.forward(tokens, reference);
        using var cache = model.CreateCache();
        Tensor? paused = null;
        using (Pause(model, out var inside, out var resume))
        {
            var worker = Workers.Start(() =>
            {
                using (no_grad()) paused = model.forward(tokens, cache);
            });
            Workers.Await(inside, "the paused forward");
            AssertInUse(() => model.forward(tokens, cache), "DiffTransformerLM.forward: this KvCache is already in use");
            resume.Set();
            Workers.Join(worker);
        }
        Assert.True(Bits.Same(expected, paused!));
        paused!.Dispose();
        Assert.Equal(Prompt.Length, cache.Length);
    }

    [Theory]
    [InlineData(AttentionKind.Softmax)]
    [InlineData(AttentionKind.Differential)]
    [InlineData(AttentionKind.DifferentialV2)]
    public void AKernelChangedDuringACallTakesEffectAtTheNextLayer(AttentionKind kind)
    {
        using var model = Decoding.Model(kind, kvHeads: 1, dtype: ScalarType.Float32); // every layer Auto (fused)
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        var tokens = tensor(Decoding.RandomTokens(12, 41)).unsqueeze(0);
        var fused = model.forward(tokens);

        Tensor? mixed = null;
        using (Pause(model, out var inside, out var resume))
        {
            var worker = Workers.Start(() =>
            {
                using (no_grad()) mixed = model.forward(tokens);
            });
            Workers.Await(inside, "the paused forward");
            foreach (var block in model.Blocks) block.Attention.Kernel = AttentionKernel.Naive; // layer 0 has run, layer 1 has not
            resume.Set();
            Workers.Join(worker);
        }
        var naive = model.forward(tokens);
        model.Blocks[0].Attention.Kernel = AttentionKernel.Auto;
        var layerByLayer = model.forward(tokens); // the configuration the paused call saw: layer 0 fused, layer 1 naive
        Assert.True(Bits.Same(layerByLayer, mixed!), "the call should have run layer 0 fused and layer 1 naive");
        // On this model the kernels round differently, so the mix is neither pure result: the test sees which kernel
        // each layer ran. They compute the same function, up to rounding.
        Assert.False(Bits.Same(layerByLayer, fused), "layer 1 should have run the naive kernel");
        Assert.False(Bits.Same(layerByLayer, naive), "layer 0 should have run the fused kernel");
        Compare.Close(mixed!, fused, 1e-5, "a call with mixed kernels against all fused");
        mixed!.Dispose();

        // A stream whose kernels change between its steps, from another thread: the same tokens.
        foreach (var block in model.Blocks) block.Attention.Kernel = AttentionKernel.Auto;
        var expected = model.GenerateStream(Prompt, Options).ToList();
        using var open = new ManualResetEventSlim();
        using var changed = new ManualResetEventSlim();
        var streamed = new List<GeneratedToken>();
        var streaming = Workers.Start(() =>
        {
            foreach (var token in model.GenerateStream(Prompt, Options))
            {
                streamed.Add(token);
                if (streamed.Count != 2) continue;
                open.Set();
                Workers.Await(changed, "the kernel change");
            }
        });
        Workers.Await(open, "the stream's second token");
        foreach (var block in model.Blocks) block.Attention.Kernel = AttentionKernel.Naive;
        changed.Set();
        Workers.Join(streaming);
        Assert.Equal(expected.Select(t => t.Token), streamed.Select(t => t.Token));
    }

    /// <summary>
    /// Pauses the next model call in block 0's feed-forward (after layer 0's attention): <paramref name="inside"/> is set
    /// there, and the call goes on once <paramref name="resume"/> is set. Disposing removes the hook.
    /// </summary>
    static IDisposable Pause(DiffTransformerLM model, out ManualResetEventSlim inside, out ManualResetEventSlim resume)
    {
        var reached = new ManualResetEventSlim();
        var release = new ManualResetEventSlim();
        int pauses = 0;
        var hook = model.Blocks[0].FeedForward.register_forward_hook((_, _, output) =>
        {
            if (Interlocked.Increment(ref pauses) == 1)
            {
                reached.Set();
                Workers.Await(release, "the resume signal");
            }
            return output;
        });
        (inside, resume) = (reached, release);
        return new Cleanup(() =>
        {
            hook.remove();
            reached.Dispose();
            release.Dispose();
        });
    }

    static void AssertInUse(Action call, string message)
    {
        var e = Assert.Throws<InvalidOperationException>(call);
        Assert.StartsWith(message, e.Message);
    }

    sealed class Cleanup(Action action) : IDisposable
    {
        public void Dispose() => action();
    }
}
