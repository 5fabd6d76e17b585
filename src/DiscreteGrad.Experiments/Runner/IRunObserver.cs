namespace DiscreteGrad.Experiments.Runner;

/// <summary>Receives a run's progress (the CLI draws a progress bar from it). Every method has an empty default.</summary>
public interface IRunObserver
{
    /// <summary>The run starts (or resumes) at <paramref name="startStep"/> of <paramref name="totalSteps"/>.</summary>
    void Started(string name, long startStep, long totalSteps) { }
    /// <summary>A training step finished; <paramref name="metrics"/> are that step's.</summary>
    void Stepped(long stepsDone, IReadOnlyDictionary<string, double> metrics) { }
    /// <summary>An evaluation finished.</summary>
    void Evaluated(long stepsDone, IReadOnlyDictionary<string, double> metrics) { }
    /// <summary>A checkpoint was written.</summary>
    void Checkpointed(long stepsDone, string path) { }
}
