using DiscreteGrad.Estimators;
using DiscreteGrad.Experiments.Runner;

namespace DiscreteGrad.Experiments;

/// <summary>
/// The words of an <see cref="EstimatorKind"/> setting: the short names of <see cref="EstimatorNames"/> (st, stgs, gst,
/// grmck, reinmax, gs, zgr, dstgs, dgs); parsing also accepts the display names (e.g. "GR-MCK").
/// </summary>
public sealed class EstimatorSettingNames : ISettingValues
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
