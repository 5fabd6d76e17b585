using System.Text;

namespace DiscreteGrad.Experiments.Reporting;

/// <summary>Column alignment of a markdown table.</summary>
public enum ColumnAlignment
{
    /// <summary>Left aligned (<c>:---</c>).</summary>
    Left,
    /// <summary>Right aligned (<c>---:</c>), for numbers.</summary>
    Right,
    /// <summary>Centred (<c>:---:</c>).</summary>
    Center,
}

/// <summary>Renders GitHub-flavoured markdown tables; pipes and line breaks inside cells are escaped.</summary>
public static class MarkdownTable
{
    /// <summary>Renders a table with a header row, an alignment row and one line per row (each ending in a newline).</summary>
    /// <param name="headers">Column headers.</param>
    /// <param name="rows">Rows of cells; each must have as many cells as there are headers.</param>
    /// <param name="alignments">Per-column alignment (null: first column left, the rest right).</param>
    public static string Render(IReadOnlyList<string> headers, IEnumerable<IReadOnlyList<string>> rows,
        IReadOnlyList<ColumnAlignment>? alignments = null)
    {
        ArgumentNullException.ThrowIfNull(headers);
        ArgumentNullException.ThrowIfNull(rows);
        if (headers.Count == 0) throw new ArgumentException("a table needs at least one column.", nameof(headers));
        if (alignments is not null && alignments.Count != headers.Count)
            throw new ArgumentException($"alignments must have {headers.Count} entries (got {alignments.Count}).", nameof(alignments));
        var sb = new StringBuilder();
        sb.Append("| ").Append(string.Join(" | ", headers.Select(Escape))).Append(" |\n");
        sb.Append('|');
        for (int i = 0; i < headers.Count; i++)
        {
            var a = alignments?[i] ?? (i == 0 ? ColumnAlignment.Left : ColumnAlignment.Right);
            sb.Append(a switch
            {
                ColumnAlignment.Left => " :--- |",
                ColumnAlignment.Right => " ---: |",
                _ => " :---: |",
            });
        }
        sb.Append('\n');
        int r = 0;
        foreach (var row in rows)
        {
            if (row.Count != headers.Count)
                throw new ArgumentException($"row {r} has {row.Count} cells; the table has {headers.Count} columns.", nameof(rows));
            sb.Append("| ").Append(string.Join(" | ", row.Select(Escape))).Append(" |\n");
            r++;
        }
        return sb.ToString();
    }

    /// <summary>Escapes a cell: '|' becomes '\|', line breaks become spaces.</summary>
    public static string Escape(string cell)
        => (cell ?? "").Replace("|", "\\|").Replace("\r\n", " ").Replace('\n', ' ').Replace('\r', ' ');
}
