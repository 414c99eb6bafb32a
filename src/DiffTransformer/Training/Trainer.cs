using DiffTransformer.Checkpoints;

using DiffTransformer.Training;

using System.Diagnostics;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace DiffTransformer;

/// <summary>
/// Trains a <see cref="DiffTransformerLM"/> on an <see cref="ITrainingData"/>: AdamW with weight-decay groups
/// (<see cref="ParameterGroups"/>), warm-up plus cosine learning rate (<see cref="WarmupCosineSchedule"/>), gradient
/// accumulation, clipping by global norm, optional bfloat16 with float32 master weights, evaluation, and checkpoints
/// that resume exactly. Call <see cref="Step"/> in your own loop (it returns a <see cref="TrainingProgress"/> to draw),
/// or <see cref="Run"/> for the whole run. Writes nothing to the console. The trainer does not own the model or the data.
/// Thread safety: one thread at a time calls a trainer. Its weight changes (the optimizer update of <see cref="Step"/>,
/// <see cref="LoadCheckpoint"/>, the bfloat16 conversion of the constructor) refuse to overlap inference on the model
/// from other threads, and inference refuses to overlap them (<see cref="InvalidOperationException"/>, see
/// <see cref="DiffTransformerLM"/>): a generation sees the weights of one step only.
/// </summary>
public sealed class Trainer : IDisposable
{
    private readonly Device device;
    private readonly MasterWeights? masters;
    private readonly IReadOnlyList<(string Name, Parameter Parameter)> optimized;
    private bool disposed;

    /// <summary>
    /// Prepares training of <paramref name="model"/> (float32 parameters) on <paramref name="data"/>. With
    /// <see cref="TrainingPrecision.BFloat16"/> the model is converted to bfloat16 here and float32 master copies of its
    /// weights are kept by the trainer.
    /// </summary>
    public Trainer(DiffTransformerLM model, ITrainingData data, TrainingOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(data);
        Options = options ?? new TrainingOptions();
        Options.Validate();
        var parameters = model.named_parameters().ToList();
        var notFloat32 = parameters.FirstOrDefault(p => p.parameter.dtype != ScalarType.Float32);
        if (notFloat32.name is not null)
            throw new ArgumentException(
                $"model must have float32 parameters (use TrainingOptions.Precision for bfloat16); '{notFloat32.name}' is {notFloat32.parameter.dtype}.",
                nameof(model));
        Model = model;
        Data = data;
        Schedule = Options.Schedule;
        device = model.Device;

        var split = ParameterGroups.Split(model);
        if (Options.Precision == TrainingPrecision.BFloat16)
        {
            var copies = new Dictionary<string, Tensor>();
            foreach (var (name, p) in parameters) copies[name] = p.detach().clone().DetachFromDisposeScope();
            try
            {
                model.WeightGuard.EnterUpdate($"The {nameof(Trainer)} constructor (bfloat16 conversion)");
                try
                {
                    model.to(ScalarType.BFloat16);
                    masters = new MasterWeights(model, copies);
                }
                finally
                {
                    model.WeightGuard.ExitUpdate();
                }
            }
            finally
            {
                foreach (var t in copies.Values) t.Dispose();
            }
            var byName = masters.Named.ToDictionary(p => p.Name, p => p.Parameter);
            split = new ParameterSplit(
                split.Decay.Select(p => (p.Name, byName[p.Name])).ToList(),
                split.NoDecay.Select(p => (p.Name, byName[p.Name])).ToList());
        }
        optimized = split.All.ToList();
        Optimizer = ParameterGroups.CreateAdamW(split, Options);
    }

    /// <summary>The model being trained (bfloat16 during <see cref="TrainingPrecision.BFloat16"/> training).</summary>
    public DiffTransformerLM Model { get; }

    /// <summary>The batches.</summary>
    public ITrainingData Data { get; }

    /// <summary>The hyperparameters.</summary>
    public TrainingOptions Options { get; }

    /// <summary>The learning-rate schedule.</summary>
    public WarmupCosineSchedule Schedule { get; }

    /// <summary>The optimizer (over the float32 masters in bfloat16 training).</summary>
    public AdamW Optimizer { get; }

    /// <summary>Optimizer steps completed; the next step uses the learning rate of this step index.</summary>
    public long CompletedSteps { get; private set; }

    /// <summary>Input tokens trained on so far (skipped steps' tokens are not counted).</summary>
    public long Tokens { get; private set; }

    /// <summary>Steps whose update was skipped for a non-finite loss or gradient norm (<see cref="NonFinitePolicy.SkipStep"/>).</summary>
    public long SkippedSteps { get; private set; }

    /// <summary>Wall time spent in <see cref="Step"/> so far (restored by <see cref="LoadCheckpoint"/>).</summary>
    public TimeSpan Elapsed { get; private set; }

    /// <summary>
    /// One optimizer step: <see cref="TrainingOptions.GradientAccumulationSteps"/> micro-batches (batch
    /// <c>CompletedSteps * accumulation + i</c>), each loss scaled by <c>1 / accumulation</c> and back-propagated into
    /// gradients cleared first; then clipping, the AdamW update at the scheduled learning rate, and cleared gradients. A
    /// NaN or infinite loss or gradient norm is caught before the update (see <see cref="TrainingOptions.NonFinite"/>). If
    /// it throws (for example while fetching a batch), nothing is updated and the next call starts afresh.
    /// Device-to-host copies: one per micro-batch (<see cref="DiffTransformerLM.Loss"/> reads its token and target range
    /// checks back) and one before the update (the loss and gradient norm it checks and reports). Steps past
    /// <see cref="TrainingOptions.Steps"/> use the floor learning rate.
    /// </summary>
    /// <exception cref="NonFiniteStepException">Non-finite loss or gradient norm under <see cref="NonFinitePolicy.Throw"/>.</exception>
    /// <exception cref="InvalidOperationException">
    /// Inference (a forward, loss, generation or unfinished stream) runs on the model on another thread when the update is
    /// due: the step is refused with the weights and <see cref="CompletedSteps"/> unchanged, and may be retried.
    /// </exception>
    public TrainingProgress Step()
    {
        ObjectDisposedException.ThrowIf(disposed, this);
        var watch = Stopwatch.StartNew();
        int accumulation = Options.GradientAccumulationSteps;
        Model.train();
        Model.zero_grad(); // a step that failed after a backward (or the caller's own backward) leaves gradients behind
        using var scope = NewDisposeScope();
        double rate = Schedule.Apply(Optimizer, CompletedSteps);
        var lossSum = zeros(1, ScalarType.Float32, device);
        long tokens = 0;
        for (int micro = 0; micro < accumulation; micro++)
        {
            using var batch = Data.GetTrainingBatch(CompletedSteps * accumulation + micro, device);
            using var microScope = NewDisposeScope();
            var loss = Model.Loss(batch.Inputs, batch.Targets, TrainingBatch.IgnoreIndex);
            (accumulation == 1 ? loss : loss.DividedBy(accumulation)).backward();
            masters?.AccumulateGradients(first: micro == 0);
            lossSum.PlusInPlace(loss.detach().to(ScalarType.Float32));
            tokens += batch.TokenCount;
        }
        var norm = GradientClipping.ClipByGlobalNorm(optimized.Select(p => p.Parameter), Options.MaxGradientNorm)
            ?? zeros(1, ScalarType.Float32, device);
        var values = cat(new[] { lossSum.DividedBy(accumulation), norm.reshape(1).to(ScalarType.Float32) }).cpu().data<float>().ToArray();
        bool skip = !float.IsFinite(values[0]) || !float.IsFinite(values[1]);
        if (skip)
        {
            Model.zero_grad(); // the poisoned gradients go; weights and optimizer state were not touched
            if (Options.NonFinite == NonFinitePolicy.Throw)
                throw new NonFiniteStepException(CompletedSteps + 1, Options.Steps, values[0], values[1]);
        }
        else
        {
            Model.WeightGuard.EnterUpdate($"{nameof(Trainer)}.{nameof(Step)}");
            try
            {
                AdamWUpdate.Step(Optimizer); // Optimizer.step() with its Scalars kept alive
                masters?.CopyMastersToModel();
            }
            finally
            {
                Model.WeightGuard.ExitUpdate();
            }
            Model.zero_grad();
            Tokens += tokens;
        }

        CompletedSteps++;
        if (skip) SkippedSteps++;
        Elapsed += watch.Elapsed;
        double seconds = Math.Max(watch.Elapsed.TotalSeconds, 1e-9);
        return new TrainingProgress(CompletedSteps, Options.Steps, values[0], rate, values[1], tokens / seconds, Tokens, Elapsed)
        {
            StepSkipped = skip,
            SkippedSteps = SkippedSteps,
        };
    }

    /// <summary>
    /// Runs steps until <see cref="CompletedSteps"/> reaches <see cref="TrainingOptions.Steps"/>, reporting each step to
    /// <paramref name="progress"/> (on this thread when it is a plain <see cref="IProgress{T}"/>; <see cref="Progress{T}"/>
    /// posts to its synchronisation context). Every <see cref="TrainingOptions.EvaluationInterval"/> steps and after the
    /// last the report carries a validation result. With <see cref="TrainingOptions.CheckpointDirectory"/> set it saves a
    /// training checkpoint <c>checkpoint-STEP</c> there every <see cref="TrainingOptions.CheckpointInterval"/> steps and
    /// after the last (after that step's evaluation), keeping the newest <see cref="TrainingOptions.CheckpointsKept"/>;
    /// leftovers of saves cut short by a crash are removed first. Returns the reports of the steps it ran.
    /// </summary>
    /// <exception cref="OperationCanceledException">Cancelled between two steps; the trainer stays consistent and can be saved.</exception>
    public IReadOnlyList<TrainingProgress> Run(IProgress<TrainingProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        var history = new List<TrainingProgress>();
        string? checkpoints = Options.CheckpointDirectory;
        if (checkpoints is not null) PeriodicCheckpoints.RemoveLeftovers(checkpoints);
        while (CompletedSteps < Options.Steps)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var report = Step();
            int interval = Options.EvaluationInterval;
            if (interval > 0 && (CompletedSteps % interval == 0 || CompletedSteps == Options.Steps))
                report = report with { Validation = Evaluate() };
            if (checkpoints is not null && (CompletedSteps % Options.CheckpointInterval == 0 || CompletedSteps == Options.Steps))
                report = report with { Checkpoint = PeriodicCheckpoints.Save(this, checkpoints, Options.CheckpointsKept) };
            history.Add(report);
            progress?.Report(report);
        }
        return history;
    }

    /// <summary>Validation loss and perplexity over <see cref="ITrainingData.GetValidationBatches"/> (at most
    /// <see cref="TrainingOptions.MaxEvaluationBatches"/>), without gradients.</summary>
    public EvaluationResult Evaluate()
    {
        ObjectDisposedException.ThrowIf(disposed, this);
        return ValidationLoss.Evaluate(Model, Data.GetValidationBatches(device), Options.MaxEvaluationBatches);
    }

    /// <summary>
    /// Saves everything a resumed run needs into <paramref name="directory"/>, replacing it atomically:
    /// <c>config.json</c> and <c>model.safetensors</c> (float32 weights: the masters in bfloat16 training), so it is also
    /// a model checkpoint; <c>optimizer.safetensors</c> (AdamW moments and step per parameter, the CPU random state);
    /// <c>trainer_state.json</c> (steps, tokens, skipped steps, options without the run-control ones). <paramref name="metadata"/> goes into <c>config.json</c>.
    /// </summary>
    public void SaveCheckpoint(string directory, IReadOnlyDictionary<string, string>? metadata = null)
    {
        ObjectDisposedException.ThrowIf(disposed, this);
        AtomicDirectory.Write(directory, ModelCheckpoint.FileNames, temp =>
        {
            ModelCheckpoint.WriteModelFiles(Model, TrainedWeights(), temp, metadata);
            TrainerCheckpoint.WriteOptimizer(Path.Combine(temp, ModelCheckpoint.OptimizerFileName), Optimizer, optimized);
            TrainerCheckpoint.WriteState(Path.Combine(temp, ModelCheckpoint.TrainerStateFileName),
                new TrainerCheckpoint.State(CompletedSteps, Tokens, Elapsed.TotalSeconds, Options, SkippedSteps));
        }, nameof(directory));
    }

    /// <summary>
    /// The newest periodic checkpoint (<c>checkpoint-STEP</c> with the highest step) in <paramref name="directory"/>, as a
    /// full path, or null when there is none (or no such directory). Hidden leftovers of interrupted saves are ignored.
    /// </summary>
    public static string? FindLatestCheckpoint(string directory) => PeriodicCheckpoints.FindLatest(directory);

    /// <summary>
    /// Resumes from the newest periodic checkpoint in <see cref="TrainingOptions.CheckpointDirectory"/> through
    /// <see cref="LoadCheckpoint"/>; returns its path, or null (nothing loaded) when there is none yet. A checkpoint that
    /// fails to load throws; no older one is tried silently.
    /// </summary>
    /// <exception cref="InvalidOperationException"><see cref="TrainingOptions.CheckpointDirectory"/> is not set.</exception>
    public string? ResumeFromLatestCheckpoint(bool allowChangedOptions = false)
    {
        string directory = Options.CheckpointDirectory
            ?? throw new InvalidOperationException("ResumeFromLatestCheckpoint needs TrainingOptions.CheckpointDirectory; it is null.");
        string? latest = FindLatestCheckpoint(directory);
        if (latest is not null) LoadCheckpoint(latest, allowChangedOptions);
        return latest;
    }

    /// <summary>
    /// Restores a checkpoint written by <see cref="SaveCheckpoint"/>: weights, optimizer state, step and token counts,
    /// and the CPU random state, so that the following steps give the same losses as an uninterrupted run. The saved
    /// model config must equal this model's, and the saved options this trainer's unless
    /// <paramref name="allowChangedOptions"/> (the run-control options, <see cref="TrainingOptions.NonFinite"/> and the
    /// <c>Checkpoint*</c> ones, are not saved and may differ). Every file is checked and read before anything is changed: on any error
    /// the trainer, model and random state are left as they were.
    /// </summary>
    /// <exception cref="CheckpointMismatchException">Weights or optimizer state do not fit (every key is listed).</exception>
    /// <exception cref="InvalidDataException">A file is damaged.</exception>
    /// <exception cref="ArgumentException">Different model config or options.</exception>
    public void LoadCheckpoint(string directory, bool allowChangedOptions = false)
    {
        ObjectDisposedException.ThrowIf(disposed, this);
        ModelCheckpoint.RequireSameConfig(Model.Config, ModelCheckpoint.ReadConfig(directory), directory);
        var state = TrainerCheckpoint.ReadState(ModelCheckpoint.RequireFile(directory, ModelCheckpoint.TrainerStateFileName));
        if (!allowChangedOptions && state.Options.Hyperparameters() != Options.Hyperparameters())
            throw new ArgumentException(
                $"The checkpoint in '{directory}' was trained with other options ({state.Options.Hyperparameters()}) than this trainer ({Options.Hyperparameters()}); " +
                "pass allowChangedOptions: true to continue with the new ones.", nameof(directory));

        string weightsPath = ModelCheckpoint.RequireFile(directory, ModelCheckpoint.WeightsFileName);
        string optimizerPath = ModelCheckpoint.RequireFile(directory, ModelCheckpoint.OptimizerFileName);
        var target = TrainedWeights();
        var weights = ModuleWeights.Read(target, weightsPath, strict: true, convertDTypes: false, nameof(directory)).Tensors;
        try
        {
            using var optimizerState = TrainerCheckpoint.ReadOptimizer(optimizerPath, Optimizer, optimized);
            // Everything is read and checked: from here on nothing can fail for a reason the files control.
            Model.WeightGuard.EnterUpdate($"{nameof(Trainer)}.{nameof(LoadCheckpoint)}");
            try
            {
                using (no_grad())
                    foreach (var (name, tensor) in target) tensor.copy_(weights[name]);
                masters?.CopyMastersToModel();
            }
            finally
            {
                Model.WeightGuard.ExitUpdate();
            }
            optimizerState.Apply();
            CompletedSteps = state.CompletedSteps;
            Tokens = state.Tokens;
            SkippedSteps = state.SkippedSteps;
            Elapsed = TimeSpan.FromSeconds(state.ElapsedSeconds);
        }
        finally
        {
            foreach (var t in weights.Values) t.Dispose();
        }
    }

    /// <inheritdoc />
    public void Dispose()
    {
        if (disposed) return;
        disposed = true;
        Optimizer.Dispose();
        masters?.Dispose();
    }

    /// <summary>The weights the optimizer updates, under the model's state-dict keys (masters in bfloat16 training).</summary>
    private Dictionary<string, Tensor> TrainedWeights()
    {
        var weights = Model.state_dict();
        if (masters is not null)
            foreach (var (name, master) in masters.Named) weights[name] = master;
        return weights;
    }
}
