namespace DiscreteGrad.Experiments.Runner;

/// <summary>
/// When the <see cref="ExperimentRunner"/> evaluates a task, like Lightning's <c>val_check_interval</c>: after the last
/// step always, and otherwise <see cref="EvalsPerEpoch"/> times per epoch, evenly spread with the last at the epoch's end,
/// every <see cref="EveryEpochs"/> epochs; with <see cref="AtStart"/> also once before the first step (the initial
/// model's metrics, recorded at step 0).
/// </summary>
/// <param name="StepsPerEpoch">Optimisation steps per epoch (&gt;= 1).</param>
/// <param name="EvalsPerEpoch">Evaluations per evaluated epoch (&gt;= 1; with <paramref name="EveryEpochs"/> &gt; 1 only 1).</param>
/// <param name="EveryEpochs">Evaluate in every this many epochs (&gt;= 1).</param>
/// <param name="AtStart">Also evaluate before the first step (a record at step 0); a resumed run does not repeat it.</param>
public sealed record EvaluationCadence(long StepsPerEpoch, int EvalsPerEpoch = 1, int EveryEpochs = 1, bool AtStart = false)
{
    /// <summary>Whether to evaluate after <paramref name="stepsDone"/> of <paramref name="totalSteps"/> steps.</summary>
    public bool ShouldEvaluate(long stepsDone, long totalSteps)
    {
        if (stepsDone == totalSteps) return true;
        if (EveryEpochs > 1)
            return stepsDone % StepsPerEpoch == 0 && stepsDone / StepsPerEpoch % EveryEpochs == 0;
        return EvalsAt(stepsDone) > EvalsAt(stepsDone - 1);
    }

    /// <summary>Evaluations due after <paramref name="steps"/> steps (evenly spread, the last of each epoch at its end).</summary>
    public long EvalsAt(long steps) => steps / StepsPerEpoch * EvalsPerEpoch + steps % StepsPerEpoch * EvalsPerEpoch / StepsPerEpoch;

    /// <summary>Throws when a count is below 1.</summary>
    public void Validate()
    {
        Guard.AtLeast(StepsPerEpoch, 1, nameof(StepsPerEpoch));
        Guard.AtLeast(EvalsPerEpoch, 1, nameof(EvalsPerEpoch));
        Guard.AtLeast(EveryEpochs, 1, nameof(EveryEpochs));
    }
}
