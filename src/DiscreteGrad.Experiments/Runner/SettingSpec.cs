using System.Globalization;
using System.Reflection;
using System.Text;

namespace DiscreteGrad.Experiments.Runner;

/// <summary>
/// One setting of a configuration record (a property with <see cref="SettingAttribute"/>): its option name, type, range and
/// value names. Command-line text and <c>--config</c> JSON values go through the same <see cref="Parse"/>, so both meet the
/// same limits and fail with the same message, which names the option and the allowed range.
/// </summary>
public sealed class SettingSpec
{
    private static readonly CultureInfo Inv = CultureInfo.InvariantCulture;
    private readonly ISettingValues? _values;

    internal SettingSpec(PropertyInfo property, SettingAttribute attribute)
    {
        Property = property;
        Attribute = attribute;
        Type t = property.PropertyType;
        IsArray = t.IsArray;
        ElementType = IsArray ? t.GetElementType()! : t;
        if (attribute.Axis && IsArray)
            throw new InvalidOperationException($"setting {attribute.Name}: an axis is a scalar property (the grid gives it one value per cell).");
        if (attribute.AxisDefault is not null && !attribute.Axis)
            throw new InvalidOperationException($"setting {attribute.Name}: AxisDefault is for axes only.");
        if (attribute.Values is { } vt)
            _values = (ISettingValues)(Activator.CreateInstance(vt)
                ?? throw new InvalidOperationException($"setting {attribute.Name}: cannot create {vt}."));
        if (!(ElementType == typeof(int) || ElementType == typeof(long) || ElementType == typeof(ulong) || ElementType == typeof(double)
              || ElementType == typeof(bool) || ElementType == typeof(string) || ElementType.IsEnum))
            throw new InvalidOperationException($"setting {attribute.Name}: type {ElementType} is not supported.");
    }

    /// <summary>The record's property.</summary>
    public PropertyInfo Property { get; }
    /// <summary>The declaration.</summary>
    public SettingAttribute Attribute { get; }
    /// <summary>Option name without dashes.</summary>
    public string Name => Attribute.Name;
    /// <summary>"--" + <see cref="Name"/>.</summary>
    public string Option => "--" + Attribute.Name;
    /// <summary>Whether this setting is a sweep axis.</summary>
    public bool IsAxis => Attribute.Axis;
    /// <summary>Whether the property is an array (a list-valued setting that is not an axis).</summary>
    public bool IsArray { get; }
    /// <summary>The scalar type (the element type of an array).</summary>
    public Type ElementType { get; }
    /// <summary>Name of the property in kebab case (used in cell folder names).</summary>
    public string KeyName => Kebab(Property.Name);

    /// <summary>The allowed words of an enum or named setting, or null.</summary>
    public IReadOnlyList<string>? Allowed => _values?.Allowed
        ?? (ElementType.IsEnum ? Enum.GetNames(ElementType).Select(Kebab).ToArray() : null);

    /// <summary>Help text with the range or the allowed words.</summary>
    public string Help
    {
        get
        {
            var sb = new StringBuilder(Attribute.Description);
            if (Allowed is { } words) sb.Append(" {").Append(string.Join(", ", words)).Append('}');
            else if (RangeText() is { } r) sb.Append(' ').Append(r);
            if (IsAxis) sb.Append(Attribute.Count ? " (a count N, or a list a,b,c, or a range a..b)" : " (comma-separated list: one grid cell each)");
            if (Attribute.AxisDefault is { } d) sb.Append(" [default: ").Append(d).Append(']');
            else if (IsArray) sb.Append(" (comma-separated)");
            return sb.ToString();
        }
    }

    /// <summary>The values of an axis (or the one value of a scalar, or the array of a list setting) parsed from text.</summary>
    /// <exception cref="ArgumentException">The text is malformed, out of range, repeats a value or lists none; the message
    /// names the option.</exception>
    public object[] ParseList(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        if (!IsAxis && !IsArray) return new[] { Parse(text) };
        string trimmed = text.Trim();
        if (IsAxis && Attribute.Count && long.TryParse(trimmed, NumberStyles.Integer, Inv, out long n))
        {
            if (n < 1 || n > 100_000) throw Error($"{Option} must be a count in [1, 100000], a list a,b,c or a range a..b (got '{text}').");
            return Enumerable.Range(0, (int)n).Select(i => Parse((Attribute.CountFrom + i).ToString(Inv))).ToArray();
        }
        int dots = trimmed.IndexOf("..", StringComparison.Ordinal);
        if (IsAxis && dots > 0 && IsInteger(ElementType))
        {
            if (!long.TryParse(trimmed[..dots], NumberStyles.Integer, Inv, out long a) || !long.TryParse(trimmed[(dots + 2)..], NumberStyles.Integer, Inv, out long b) || b < a || b - a >= 100_000)
                throw Error($"{Option}: '{text}' is not a range a..b of integers with a <= b (at most 100000 values).");
            var range = new List<object>();
            for (long v = a; v <= b; v++) range.Add(Parse(v.ToString(Inv)));
            return range.ToArray();
        }
        var parts = text.Split(',', StringSplitOptions.TrimEntries);
        if (parts.All(p => p.Length == 0)) throw Error($"{Option} must list at least one value{AllowedSuffix()}.");
        var list = new List<object>();
        foreach (var p in parts)
        {
            if (p.Length == 0) throw Error($"{Option}: '{text}' has an empty entry.");
            // A group word ("all") stands for several values, in place.
            var vs = _values is not null && _values.TryExpand(p, out var group) ? group : new[] { Parse(p) };
            foreach (var v in vs)
            {
                if (IsAxis && list.Any(x => Equals(x, v))) throw Error($"{Option}: '{FormatOne(v)}' is listed twice (every grid cell must differ).");
                list.Add(v);
            }
        }
        return list.ToArray();
    }

    /// <summary>Parses one value (invariant culture) and checks its range.</summary>
    public object Parse(string text)
    {
        string s = text.Trim();
        Type t = ElementType;
        if (_values is not null)
            return _values.TryParse(s, out var named) ? named : throw Error($"{Option}: unknown value '{s}'{AllowedSuffix()}.");
        if (t.IsEnum)
        {
            foreach (var name in Enum.GetNames(t))
                if (string.Equals(Kebab(name), s, StringComparison.OrdinalIgnoreCase) || string.Equals(name, s, StringComparison.OrdinalIgnoreCase))
                    return Enum.Parse(t, name);
            throw Error($"{Option}: unknown value '{s}'{AllowedSuffix()}.");
        }
        if (t == typeof(string))
        {
            if (s.Length == 0) throw Error($"{Option} must not be empty.");
            return s;
        }
        if (t == typeof(bool))
        {
            if (bool.TryParse(s, out bool b)) return b;
            throw Error($"{Option} must be true or false (got '{s}').");
        }
        if (t == typeof(double))
        {
            if (!double.TryParse(s, NumberStyles.Float, Inv, out double d) || !double.IsFinite(d) || !InRange(d))
                throw Error($"{Option} must be a finite number{Space(RangeText())} (got '{s}').");
            return d;
        }
        // Integers.
        bool ok = decimal.TryParse(s, NumberStyles.Integer, Inv, out decimal m);
        if (ok && t == typeof(int)) ok = m >= int.MinValue && m <= int.MaxValue;
        if (ok && t == typeof(long)) ok = m >= long.MinValue && m <= long.MaxValue;
        if (ok && t == typeof(ulong)) ok = m >= 0 && m <= ulong.MaxValue;
        if (!ok || !InRange((double)m)) throw Error($"{Option} must be an integer{Space(RangeText())} (got '{s}').");
        return t == typeof(int) ? (int)m : t == typeof(long) ? (long)m : (object)(ulong)m;
    }

    /// <summary>The canonical text of a value (of the property's type); arrays are comma-joined.</summary>
    public string Format(object? value)
    {
        if (value is null) return "";
        if (IsArray) return string.Join(",", ((Array)value).Cast<object>().Select(FormatOne));
        return FormatOne(value);
    }

    /// <summary>Checks a value set in code (a default or a value from <c>--config</c>) against the range.</summary>
    public void Check(object? value)
    {
        if (value is null) throw Error($"{Option} must be set.");
        var items = IsArray ? ((Array)value).Cast<object>().ToArray() : new[] { value };
        foreach (var v in items) Parse(FormatOne(v));
    }

    /// <summary>Reads the value from a configuration record.</summary>
    public object? Get(object config) => Property.GetValue(config);

    /// <summary>Sets the value on a configuration record (init-only properties included).</summary>
    public void Set(object config, object[] values)
    {
        object v = IsArray ? MakeArray(values) : values.Single();
        Property.SetValue(config, v);
    }

    private Array MakeArray(object[] values)
    {
        var a = Array.CreateInstance(ElementType, values.Length);
        for (int i = 0; i < values.Length; i++) a.SetValue(values[i], i);
        return a;
    }

    private string FormatOne(object v)
    {
        if (_values is not null) return _values.Format(v);
        if (v is Enum e) return Kebab(e.ToString());
        if (v is double d) return d.ToString("R", Inv);
        if (v is bool b) return b ? "true" : "false";
        return Convert.ToString(v, Inv) ?? "";
    }

    private bool InRange(double v)
    {
        double min = Attribute.Min, max = Attribute.Max;
        if (!double.IsNaN(min) && (Attribute.MinExclusive ? v <= min : v < min)) return false;
        if (!double.IsNaN(max) && v > max) return false;
        return true;
    }

    private string? RangeText()
    {
        double min = Attribute.Min, max = Attribute.Max;
        if (double.IsNaN(min) && double.IsNaN(max)) return null;
        string lo = double.IsNaN(min) ? "(-inf" : (Attribute.MinExclusive ? "(" : "[") + min.ToString(Inv);
        string hi = double.IsNaN(max) ? "inf)" : max.ToString(Inv) + "]";
        return $"in {lo}, {hi}";
    }

    private string AllowedSuffix() => Allowed is { } a ? $"; allowed: {string.Join(", ", a)}" : "";
    private static string Space(string? s) => s is null ? "" : " " + s;
    private ArgumentException Error(string message) => new SettingException(Option, message);
    private static bool IsInteger(Type t) => t == typeof(int) || t == typeof(long) || t == typeof(ulong);

    /// <summary>"TempMatchDropRes" -> "temp-match-drop-res"; "LearningRate" -> "learning-rate".</summary>
    public static string Kebab(string name)
    {
        var sb = new StringBuilder();
        for (int i = 0; i < name.Length; i++)
        {
            char c = name[i];
            if (char.IsUpper(c) && i > 0 && (char.IsLower(name[i - 1]) || char.IsDigit(name[i - 1]) || (i + 1 < name.Length && char.IsLower(name[i + 1]) && char.IsUpper(name[i - 1]))))
                sb.Append('-');
            sb.Append(char.ToLowerInvariant(c));
        }
        return sb.ToString();
    }
}

/// <summary>A bad setting value: the message is the whole line to show; <see cref="ArgumentException.ParamName"/> is the option.</summary>
public sealed class SettingException(string option, string message) : ArgumentException(message, option)
{
    /// <summary>The message without .NET's "(Parameter ...)" suffix.</summary>
    public override string Message => base.Message.Split(" (Parameter '")[0];
}
