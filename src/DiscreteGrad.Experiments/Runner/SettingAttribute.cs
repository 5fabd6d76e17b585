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
    /// For an axis added to an experiment after grids of it were run: a cell whose value is the property's default leaves
    /// the axis out of its folder name (<see cref="GridCell.Key"/>), so those grids' folders keep their names and resume.
    /// </summary>
    public bool KeyOmitsDefault { get; init; }
    /// <summary>
    /// For an axis: its values when neither the command line nor <c>--config</c> gives it, as the option's text (e.g.
    /// "imle,aimle,direct"), so a command's default grid can span several values; null: the property's default alone.
    /// </summary>
    public string? AxisDefault { get; init; }
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

    /// <summary>
    /// A word that stands for several values of an axis or a list setting (e.g. "all" for every estimator), expanded in
    /// place where the list names it; false (the default) when <paramref name="text"/> is not such a word.
    /// </summary>
    bool TryExpand(string text, out object[] values)
    {
        values = Array.Empty<object>();
        return false;
    }
}

/// <summary>
/// <see cref="ISettingValues"/> from a table: each value has one word (how it is printed and stored), parsing accepts the
/// word or an alias after <see cref="Normalize"/>, and <see cref="Groups"/> names words that stand for several values
/// (listed first in the help).
/// </summary>
/// <typeparam name="T">The property's type (an enum, or string for free-form words).</typeparam>
public abstract class SettingWords<T> : ISettingValues where T : notnull
{
    /// <summary>(word, value, aliases) of every value, in help order.</summary>
    protected abstract IReadOnlyList<(string Word, T Value, string[] Aliases)> Table { get; }

    /// <summary>Words standing for several values (e.g. "all"), each with its values in order. Default: none.</summary>
    protected virtual IReadOnlyList<(string Word, T[] Values)> Groups => Array.Empty<(string, T[])>();

    /// <summary>How a word is compared (default: trimmed, lower case).</summary>
    protected virtual string Normalize(string text) => text.Trim().ToLowerInvariant();

    /// <inheritdoc />
    public virtual IReadOnlyList<string> Allowed => Groups.Select(g => g.Word).Concat(Table.Select(t => t.Word)).ToArray();

    /// <inheritdoc />
    public virtual string Format(object value) =>
        Table.FirstOrDefault(t => Equals(t.Value, value)).Word ?? throw new ArgumentException($"no word for the value {value}.", nameof(value));

    /// <inheritdoc />
    public virtual bool TryParse(string text, out object value)
    {
        string key = Normalize(text ?? "");
        foreach (var (word, v, aliases) in Table)
            if (Normalize(word) == key || aliases.Any(a => Normalize(a) == key))
            {
                value = v;
                return true;
            }
        value = default(T)!;
        return false;
    }

    /// <inheritdoc />
    public bool TryExpand(string text, out object[] values)
    {
        string key = Normalize(text ?? "");
        foreach (var (word, vs) in Groups)
            if (Normalize(word) == key)
            {
                values = vs.Cast<object>().ToArray();
                return true;
            }
        values = Array.Empty<object>();
        return false;
    }
}
