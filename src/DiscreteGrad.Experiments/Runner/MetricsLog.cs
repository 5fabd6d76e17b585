using System.Text.Json;
using DiscreteGrad.Experiments.Reporting;

namespace DiscreteGrad.Experiments.Runner;

/// <summary>One logged row: "train" or "eval", the steps done and the metrics.</summary>
public sealed record MetricsRecord(string Kind, long Step, Dictionary<string, double> Metrics);

/// <summary>
/// Metrics of a run as JSON lines (<c>metrics.jsonl</c>, every record) and CSV (<c>train.csv</c>, <c>eval.csv</c>). On
/// resume, records after the checkpoint's step are dropped so the files read as one uninterrupted run; the kept records
/// are written to a new file that replaces the old one by a rename, so a crash during the resume loses no history.
/// </summary>
public sealed class MetricsLog : IDisposable
{
    private readonly string _dir;
    private readonly StreamWriter _jsonl;
    private readonly Dictionary<string, (CsvWriter Writer, string[] Columns)> _csv = new();

    /// <summary>All records written (including those kept from before a resume).</summary>
    public List<MetricsRecord> Records { get; } = new();

    /// <summary>Opens the log in <paramref name="directory"/>, keeping earlier records up to <paramref name="keepUpToStep"/> (null: start afresh).</summary>
    public MetricsLog(string directory, long? keepUpToStep)
    {
        _dir = directory;
        Directory.CreateDirectory(directory);
        string path = Path.Combine(directory, "metrics.jsonl");
        var kept = new List<MetricsRecord>();
        if (keepUpToStep is long keep && File.Exists(path))
            kept = File.ReadAllLines(path).Where(l => l.Length > 0).Select(l => JsonSerializer.Deserialize<MetricsRecord>(l)!)
                .Where(r => r.Step <= keep).ToList();
        if (keepUpToStep is not null && File.Exists(path))
        {
            string tmp = path + ".tmp";
            using (var fs = new FileStream(tmp, FileMode.Create, FileAccess.Write))
            using (var w = new StreamWriter(fs) { NewLine = "\n" })
            {
                foreach (var r in kept) w.WriteLine(JsonSerializer.Serialize(r));
                w.Flush();
                fs.Flush(true);
            }
            File.Move(tmp, path, overwrite: true);
            _jsonl = new StreamWriter(path, append: true) { NewLine = "\n" };
        }
        else _jsonl = new StreamWriter(path, append: false) { NewLine = "\n" };
        foreach (var r in kept)
        {
            Records.Add(r);
            WriteCsv(r);
        }
    }

    /// <summary>Appends a record to the JSON lines and the CSV of its kind.</summary>
    public void Write(MetricsRecord record)
    {
        Records.Add(record);
        _jsonl.WriteLine(JsonSerializer.Serialize(record));
        _jsonl.Flush();
        WriteCsv(record);
    }

    private void WriteCsv(MetricsRecord record)
    {
        if (!_csv.TryGetValue(record.Kind, out var csv))
        {
            var cols = record.Metrics.Keys.OrderBy(k => k, StringComparer.Ordinal).ToArray();
            csv = (new CsvWriter(Path.Combine(_dir, record.Kind + ".csv"), new[] { "step" }.Concat(cols).ToArray()), cols);
            _csv[record.Kind] = csv;
        }
        csv.Writer.WriteRow(new object?[] { record.Step }.Concat(csv.Columns.Select(c => record.Metrics.TryGetValue(c, out var v) ? (object?)v : null)).ToArray());
        csv.Writer.Flush();
    }

    /// <inheritdoc />
    public void Dispose()
    {
        _jsonl.Dispose();
        foreach (var c in _csv.Values) c.Writer.Dispose();
    }
}
