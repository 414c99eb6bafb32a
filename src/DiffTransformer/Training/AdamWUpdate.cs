using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace DiffTransformer;

/// <summary>
/// TorchSharp's <see cref="AdamW.step"/>, operation for operation (so bit for bit), with every <see cref="Scalar"/> kept
/// alive through its native call. TorchSharp 0.107's own step makes its Scalars on the fly (<c>mul_(beta1)</c>,
/// <c>add_(grad, alpha: 1 - beta1)</c>, ...), and the GC can finalize one while libtorch still reads it: in a long run
/// that is a random "Expected false to be true ... toFloat" error in the middle of training (seen in the kill test's
/// in-process resumes, about one run in three). See <see cref="ScalarMath"/>.
/// </summary>
internal static class AdamWUpdate
{
    private static readonly Scalar One = 1.ToScalar();

    public static void Step(AdamW optimizer)
    {
        using var noGrad = no_grad();
        using var scope = NewDisposeScope();
        var states = optimizer.state_dict().State.Cast<AdamW.State>().ToArray();
        int index = 0;
        foreach (var group in optimizer.ParamGroups.Cast<AdamW.ParamGroup>())
        {
            var options = (AdamW.Options)group.Options;
            if (options.amsgrad == true || options.maximize == true)
                throw new InvalidOperationException("AdamWUpdate implements AdamW without amsgrad or maximize.");
            double beta1 = options.beta1!.Value, beta2 = options.beta2!.Value, lr = options.LearningRate!.Value;
            using var decay = (1 - lr * options.weight_decay!.Value).ToScalar();
            using var b1 = beta1.ToScalar();
            using var b2 = beta2.ToScalar();
            using var oneMinusB1 = (1 - beta1).ToScalar();
            using var oneMinusB2 = (1 - beta2).ToScalar();
            using var eps = options.eps!.Value.ToScalar();
            foreach (var param in group.Parameters)
            {
                var state = states[index++];
                var grad = param.grad;
                if (grad is null) continue;
                state.step += 1;
                param.mul_(decay);
                double biasCorrection1 = 1 - Math.Pow(beta1, state.step);
                double biasCorrection2 = 1 - Math.Pow(beta2, state.step);
                state.exp_avg.mul_(b1).add_(grad, oneMinusB1);
                state.exp_avg_sq.mul_(b2).addcmul_(grad, grad, oneMinusB2);
                using var root = Math.Sqrt(biasCorrection2).ToScalar();
                var denominator = state.exp_avg_sq.sqrt().div(root).add_(eps, One);
                using var stepSize = (-(lr / biasCorrection1)).ToScalar();
                param.addcdiv_(state.exp_avg, denominator, stepSize);
            }
        }
        if (index != states.Length)
            throw new InvalidOperationException($"The optimizer has {states.Length} parameter states but {index} parameters.");
    }
}
