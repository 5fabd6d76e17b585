using DiscreteGrad.Schedules;
using TorchSharp;
using static TorchSharp.torch;

namespace DiscreteGrad.Experiments.Runner;

/// <summary>
/// One training run as the <see cref="ExperimentRunner"/> sees it: a model, its optimiser, its schedules and random
/// generators (all checkpointed), and a step function. Data order must be a function of the step (for example a
/// permutation per epoch drawn from a generator seeded by (seed, epoch)) so that a resumed run sees the same batches.
/// </summary>
public interface ITrainingTask
{
    /// <summary>Name of the run (used in file names and reports).</summary>
    string Name { get; }
    /// <summary>Total number of optimisation steps.</summary>
    long TotalSteps { get; }
    /// <summary>The trained model (saved and restored).</summary>
    nn.Module Model { get; }
    /// <summary>The optimiser (its state is saved and restored).</summary>
    TorchSharp.Modules.OptimizerHelper Optimizer { get; }
    /// <summary>Schedules whose positions are checkpointed, in a fixed order.</summary>
    IReadOnlyList<Schedule> Schedules { get; }
    /// <summary>Every random generator the run draws from, in a fixed order (their states are checkpointed).</summary>
    IReadOnlyList<Generator> Generators { get; }
    /// <summary>
    /// One optimisation step (the runner wraps it in a DisposeScope). Returns scalar metrics; must include "loss".
    /// </summary>
    IReadOnlyDictionary<string, double> TrainStep(long step);
    /// <summary>When the runner evaluates (the runner owns the cadence; the task only evaluates).</summary>
    EvaluationCadence Cadence { get; }
    /// <summary>Evaluation metrics after <paramref name="stepsDone"/> steps (the runner wraps it in a DisposeScope).</summary>
    IReadOnlyDictionary<string, double> Evaluate(long stepsDone);
    /// <summary>Called after the model's parameters were restored from a checkpoint, so the task can re-apply schedules.</summary>
    void OnRestored(long stepsDone);
    /// <summary>The run's configuration, written into the summary and the report.</summary>
    IReadOnlyDictionary<string, string> Configuration { get; }
    /// <summary>
    /// State a resume needs that is neither a parameter or buffer of <see cref="Model"/>, nor the optimiser, a schedule or
    /// a generator (for example running baseline statistics or an adaptive lambda): saved with every checkpoint and handed
    /// back to <see cref="SetExtraState"/> on restore. Default: none.
    /// </summary>
    IReadOnlyDictionary<string, Tensor> GetExtraState() => new Dictionary<string, Tensor>();
    /// <summary>Restores what <see cref="GetExtraState"/> saved (called before <see cref="OnRestored"/>).</summary>
    void SetExtraState(IReadOnlyDictionary<string, Tensor> state) { }
}
