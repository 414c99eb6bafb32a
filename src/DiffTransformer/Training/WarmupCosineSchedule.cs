using TorchSharp;

namespace DiffTransformer.Training;

/// <summary>
/// Learning rate by optimizer step (0-based): linear warm-up <c>peak * (step + 1) / warmupSteps</c> for the first
/// <paramref name="WarmupSteps"/> steps, then cosine decay from <paramref name="PeakLearningRate"/> to
/// <paramref name="MinLearningRate"/> over the remaining steps up to <paramref name="TotalSteps"/>, and the floor after
/// that. A pure function of the step, so a resumed run only needs the step count.
/// </summary>
/// <param name="PeakLearningRate">Rate at the end of warm-up; positive and finite.</param>
/// <param name="MinLearningRate">Floor; between 0 and the peak.</param>
/// <param name="WarmupSteps">Warm-up steps; between 0 and <paramref name="TotalSteps"/>.</param>
/// <param name="TotalSteps">Steps until the floor is reached; positive.</param>
public sealed record WarmupCosineSchedule(double PeakLearningRate, double MinLearningRate, int WarmupSteps, int TotalSteps)
{
    /// <summary>Rate at the end of warm-up.</summary>
    public double PeakLearningRate { get; } = CheckPeak(PeakLearningRate);

    /// <summary>The floor of the decay.</summary>
    public double MinLearningRate { get; } = CheckFloor(MinLearningRate, PeakLearningRate);

    /// <summary>Steps until the floor.</summary>
    public int TotalSteps { get; } = CheckTotal(TotalSteps);

    /// <summary>Warm-up steps.</summary>
    public int WarmupSteps { get; } = CheckWarmup(WarmupSteps, TotalSteps);

    /// <summary>The learning rate of optimizer step <paramref name="step"/> (0-based; must be &gt;= 0).</summary>
    public double LearningRateAt(long step)
    {
        Guard.NonNegative(step, nameof(step));
        if (step < WarmupSteps) return PeakLearningRate * (step + 1) / WarmupSteps;
        if (step >= TotalSteps) return MinLearningRate;
        double progress = (double)(step - WarmupSteps) / Math.Max(1, TotalSteps - WarmupSteps);
        return MinLearningRate + 0.5 * (PeakLearningRate - MinLearningRate) * (1 + Math.Cos(Math.PI * progress));
    }

    /// <summary>Sets every parameter group of <paramref name="optimizer"/> to the rate of <paramref name="step"/>; returns it.</summary>
    public double Apply(torch.optim.Optimizer optimizer, long step)
    {
        ArgumentNullException.ThrowIfNull(optimizer);
        double rate = LearningRateAt(step);
        foreach (var group in optimizer.ParamGroups) group.LearningRate = rate;
        return rate;
    }

    private static double CheckPeak(double peak)
    {
        Guard.PositiveFinite(peak, nameof(PeakLearningRate));
        return peak;
    }

    private static double CheckFloor(double floor, double peak)
    {
        Guard.UpTo(floor, nameof(MinLearningRate), peak, nameof(PeakLearningRate));
        return floor;
    }

    private static int CheckWarmup(int warmup, int total)
    {
        Guard.UpTo(warmup, nameof(WarmupSteps), total, nameof(TotalSteps));
        return warmup;
    }

    private static int CheckTotal(int total)
    {
        Guard.Positive(total, nameof(TotalSteps));
        return total;
    }
}
