using TorchSharp;
using static TorchSharp.torch;

namespace DiffTransformer.Tests;

public class CausalityAndGradientTests
{
    [Theory]
    [MemberData(nameof(Build.KindsAndKernels), MemberType = typeof(Build))]
    public void ChangingTokenTLeavesEarlierOutputsUnchanged(AttentionKind kind, AttentionKernel kernel)
    {
        using var scope = NewDisposeScope();
        var module = Build.Attention(kind, kernel: kernel);
        const int time = 9;
        var x = Build.Input(2, time, 32);
        var y = module.call(x);
        foreach (int t in new[] { 0, 4, time - 1 })
        {
            var changed = x.clone();
            changed[.., t] += 1.0;
            var y2 = module.call(changed);
            if (t > 0) Assert.Equal(0.0, (y2[.., ..t] - y[.., ..t]).abs().max().item<double>());
            Assert.True((y2[.., t] - y[.., t]).abs().max().item<double>() > 1e-6, $"output at {t} did not react to its own token");
        }
    }

    /// <summary>Central differences in float64 along a random direction, for the input and every parameter.</summary>
    [Theory]
    [MemberData(nameof(Build.KindsAndKernels), MemberType = typeof(Build))]
    public void GradientsMatchFiniteDifferences(AttentionKind kind, AttentionKernel kernel)
    {
        using var scope = NewDisposeScope();
        var module = Build.Attention(kind, embed: 16, heads: kind == AttentionKind.Softmax ? 2 : 1, kernel: kernel);
        var x = Build.Input(2, 5, 16).requires_grad_(true);
        manual_seed(7);
        var weight = randn(2, 5, 16, dtype: ScalarType.Float64);
        Tensor Loss() => (module.call(x) * weight).sum();

        Loss().backward();
        var targets = new List<(string Name, Tensor Value)> { ("x", x) };
        targets.AddRange(module.named_parameters().Select(p => (p.name, (Tensor)p.parameter)));
        const double eps = 1e-6;
        foreach (var (name, value) in targets)
        {
            var direction = randn_like(value);
            double analytic = (value.grad! * direction).sum().item<double>();
            double numeric;
            using (no_grad())
            {
                value.add_(direction * eps);
                double plus = Loss().item<double>();
                value.sub_(direction * (2 * eps));
                double minus = Loss().item<double>();
                value.add_(direction * eps);
                numeric = (plus - minus) / (2 * eps);
            }
            double error = Math.Abs(analytic - numeric) / Math.Max(1e-3, Math.Abs(numeric));
            Assert.True(error < 1e-6, $"{name}: analytic {analytic:G10} vs numeric {numeric:G10} (relative {error:E2})");
        }
    }
}
