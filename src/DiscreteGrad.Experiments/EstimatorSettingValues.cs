using DiscreteGrad.Estimators;
using DiscreteGrad.Experiments.Runner;

namespace DiscreteGrad.Experiments;

/// <summary>
/// The words of an estimator setting (<c>[Setting(..., Values = typeof(EstimatorSettingValues))]</c> on an
/// <see cref="EstimatorKind"/> property): the short names of <see cref="EstimatorNames"/> ("st", "stgs", "gst", "grmck",
/// "reinmax", "gs"), parsed as <see cref="EstimatorNames.TryParse"/> does (so "GR-MCK" is accepted too).
/// </summary>
public sealed class EstimatorSettingValues : ISettingValues
{
    /// <inheritdoc />
    public IReadOnlyList<string> Allowed => EstimatorNames.Keys;

    /// <inheritdoc />
    public string Format(object value) => EstimatorNames.Key((EstimatorKind)value);

    /// <inheritdoc />
    public bool TryParse(string text, out object value)
    {
        bool ok = EstimatorNames.TryParse(text, out var kind);
        value = kind;
        return ok;
    }
}
