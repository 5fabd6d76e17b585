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
    /// <summary>Whether to evaluate after <paramref name="stepsDone"/> steps.</summary>
    bool ShouldEvaluate(long stepsDone);
    /// <summary>Evaluation metrics after <paramref name="stepsDone"/> steps (the runner wraps it in a DisposeScope).</summary>
    IReadOnlyDictionary<string, double> Evaluate(long stepsDone);
    /// <summary>Called after the model's parameters were restored from a checkpoint, so the task can re-apply schedules.</summary>
    void OnRestored(long stepsDone);
    /// <summary>The run's configuration, written into the summary and the report.</summary>
    IReadOnlyDictionary<string, string> Configuration { get; }
}
