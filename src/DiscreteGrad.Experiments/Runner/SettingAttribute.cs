namespace DiscreteGrad.Experiments.Runner;

/// <summary>
/// Marks a property of an experiment's configuration record as a setting: a command-line option <c>--NAME</c> and a key of
/// a <c>--config</c> JSON file, parsed and range-checked by one <see cref="SettingSpec"/> for both. A setting with
/// <see cref="Axis"/> is a sweep axis of the grid: it takes a comma-separated list (a JSON array) and the grid runs every
/// combination of the axes' values, one cell each.
/// </summary>
/// <param name="name">Option name without dashes, e.g. "lr" for <c>--lr</c>.</param>
/// <param name="description">One line of help.</param>
[AttributeUsage(AttributeTargets.Property, AllowMultiple = false)]
public sealed class SettingAttribute(string name, string description) : Attribute
{
    /// <summary>Option name without dashes.</summary>
    public string Name { get; } = name;
    /// <summary>Help text.</summary>
    public string Description { get; } = description;
    /// <summary>A sweep axis: a list of values, one grid cell per value (times the other axes).</summary>
    public bool Axis { get; init; }
    /// <summary>
    /// For an integer axis (seeds): a single number N means the N values <see cref="CountFrom"/>, CountFrom + 1, ...; a
    /// comma list or a range <c>a..b</c> gives the values themselves.
    /// </summary>
    public bool Count { get; init; }
    /// <summary>First value of a <see cref="Count"/> axis (default 1).</summary>
    public long CountFrom { get; init; } = 1;
    /// <summary>Smallest allowed value (NaN: none).</summary>
    public double Min { get; init; } = double.NaN;
    /// <summary>Largest allowed value (NaN: none).</summary>
    public double Max { get; init; } = double.NaN;
    /// <summary>Whether <see cref="Min"/> itself is excluded.</summary>
    public bool MinExclusive { get; init; }
    /// <summary>
    /// A type implementing <see cref="ISettingValues"/> that names the values of this setting (e.g. estimator names "st",
    /// "reinmax"); null: enums are named in kebab case, other types by their invariant text.
    /// </summary>
    public Type? Values { get; init; }
    /// <summary>
    /// Says where, not what (a data folder, say): left out of the configuration fingerprint, so a resume on another
    /// machine with another path is not refused.
    /// </summary>
    public bool Local { get; init; }
    /// <summary>Hidden from <c>--help</c> (still accepted).</summary>
    public bool Hidden { get; init; }
    /// <summary>
    /// The default as command-line text, for an axis whose default is several values (e.g. "1.5,2,3", or "3" seeds of a
    /// <see cref="Count"/> axis); null: the record's own value. Parsed and range-checked like the option itself.
    /// </summary>
    public string? Default { get; init; }
}

/// <summary>Names the values of a setting (the allowed words, how each value is printed and parsed).</summary>
public interface ISettingValues
{
    /// <summary>The accepted words, for help and error messages.</summary>
    IReadOnlyList<string> Allowed { get; }
    /// <summary>The word of a value.</summary>
    string Format(object value);
    /// <summary>Parses one word; false when it is not allowed.</summary>
    bool TryParse(string text, out object value);
}
