using DiscreteGrad.Experiments.Runner;

namespace DiscreteGrad.Experiments;

/// <summary>Every experiment of the command-line tool, by name (a cell's process finds its grid's experiment here).</summary>
public static class ExperimentCatalog
{
    /// <summary>The experiments, in the order the tool lists them.</summary>
    public static IReadOnlyList<IExperiment> All { get; } = new IExperiment[]
    {
        new MnistAddition.MnistAdditionExperiment(),
        new MnistAddition.MnistAdditionEvaluation(),
        new Warcraft.WarcraftExperiment(),
        new KSubsetVae.KSubsetVaeExperiment(),
        new Vae.VaeExperiment(),
        new Vae.VaeBiasExperiment(),
        new BernoulliVae.BernoulliVaeExperiment(),
        new Polynomial.PolynomialExperiment(),
        new ImleGradients.ImleGradientsExperiment(),
        new Figures.FigureBetaToyExperiment(),
        new Figures.FigureSimplexExperiment(),
        new Figures.FigureTemperatureExperiment(),
        new ListOps.ListOpsExperiment(),
        new ListOps.ListOpsReinMaxExperiment(),
        new Leaderboard.LeaderboardExperiment(),
        new Nri.NriExperiment(),
    };

    /// <summary>The experiment called <paramref name="name"/>, or an error naming the known ones.</summary>
    public static IExperiment Find(string name) => All.FirstOrDefault(e => e.Name == name)
        ?? throw new InvalidDataException($"unknown experiment '{name}'; known: {string.Join(", ", All.Select(e => e.Name))}.");
}
