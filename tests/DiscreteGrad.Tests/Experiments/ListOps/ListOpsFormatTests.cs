using System.Text;
using DiscreteGrad.Experiments.ListOps;

namespace DiscreteGrad.Tests.Experiments.ListOps;

public sealed class ListOpsFormatTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("dg-listops-").FullName;

    public void Dispose() => Directory.Delete(_dir, true);

    private string File(string name, string content)
    {
        string path = Path.Combine(_dir, name);
        System.IO.File.WriteAllText(path, content, new UTF8Encoding(false));
        return path;
    }

    private static IReadOnlyList<ListOpsExample> Sample() =>
        new DccgListOpsRecipe { TrainPerDepth = 40, DevPerDepth = 0, TestPerDepth = 0, ExtrapolationCount = 5 }.Generate(12).All.ToList();

    [Fact]
    public void Json_is_written_in_the_published_layout()
    {
        var e = ListOpsExample.Parse("[MED 3 6 0 6 ]");
        var writer = new StringWriter();
        ListOpsJson.Write(writer, new[] { e });
        Assert.Equal(
            "{\"6\": {\"0\": {\"ex\": \"[MED 3 6 0 6 ]\", \"target\": 4, \"adj\": [-1, 0, 0, 0, 0, 0], " +
            "\"inter\": [4, 3, 6, 0, 6, -1], \"inter_mask\": [1, 0, 0, 0, 0, 0]}}}",
            writer.ToString());
    }

    [Fact]
    public void Json_is_read_in_file_order_with_optional_annotations()
    {
        string path = File("two.json", """
            {"10": {"0": {"ex": "[MAX 9 3 0 [MED 7 9 5 ] ]", "target": 9, "adj": [-1, 0, 0, 0, 0, 4, 4, 4, 4, 0],
                          "inter": [9, 9, 3, 0, 7, 7, 9, 5, -1, -1], "inter_mask": [1, 0, 0, 0, 1, 0, 0, 0, 0, 0]}},
             "4": {"0": {"ex": "[MIN 7 3 ]", "target": 3, "note": "other fields are ignored"},
                   "1": {"ex": "[MAX 7 3 ]", "target": 7}}}
            """);
        var read = ListOpsJson.Read(path);
        Assert.Equal(new[] { "[MAX 9 3 0 [MED 7 9 5 ] ]", "[MIN 7 3 ]", "[MAX 7 3 ]" }, read.Select(e => e.Expression));
        Assert.Equal(new[] { 9, 3, 7 }, read.Select(e => e.Target));
    }

    [Fact]
    public void Json_round_trip_gives_the_examples_sorted_by_length()
    {
        var examples = Sample();
        string path = Path.Combine(_dir, "set.json");
        ListOpsFile.Write(path, examples, ListOpsFileFormat.DccgJson);
        Assert.Equal(ListOpsFileFormat.DccgJson, ListOpsFile.DetectFormat(path));
        var read = ListOpsFile.Read(path);
        Assert.Equal(examples.OrderBy(e => e.Length), read);
        Assert.All(read.Zip(examples.OrderBy(e => e.Length)), p =>
        {
            Assert.Equal(p.Second.Parents, p.First.Parents);
            Assert.Equal(p.Second.Values, p.First.Values);
        });
    }

    [Theory]
    [InlineData("[MIN 1 6 5 0 ]", "( ( ( ( ( [MIN 1 ) 6 ) 5 ) 0 ) ] )")]
    [InlineData("[MAX 2 [MIN 4 7 ] 0 ]", "( ( ( ( [MAX 2 ) ( ( ( [MIN 4 ) 7 ) ] ) ) 0 ) ] )")]
    [InlineData("[SM [MED [MIN 1 2 ] 3 ] 4 ]", "( ( ( [SM ( ( ( [MED ( ( ( [MIN 1 ) 2 ) ] ) ) 3 ) ] ) ) 4 ) ] )")]
    [InlineData("5", "5")]
    public void Tsv_writes_the_left_binarised_form_of_the_reference_generator(string expression, string binarised)
    {
        var e = ListOpsExample.Parse(expression);
        Assert.Equal(binarised, ListOpsTsv.Binarised(e));
        Assert.Equal(e, ListOpsExample.Parse(binarised));
    }

    [Fact]
    public void Tsv_round_trip_keeps_order_and_annotations()
    {
        var examples = Sample();
        string path = Path.Combine(_dir, "set.tsv");
        ListOpsFile.Write(path, examples, ListOpsFileFormat.Tsv);
        Assert.Equal(ListOpsFileFormat.Tsv, ListOpsFile.DetectFormat(path));
        string first = System.IO.File.ReadLines(path).First();
        Assert.Equal($"{examples[0].Target}\t{ListOpsTsv.Binarised(examples[0])}", first);
        var read = ListOpsFile.Read(path);
        Assert.Equal(examples, read);
        Assert.Equal(examples.Select(e => e.Target), read.Select(e => e.Target));
    }

    [Fact]
    public void Tsv_reads_headers_plain_expressions_crlf_and_skips_bare_digits()
    {
        // Long Range Arena style: a Source/Target header, expression first.
        string lra = File("lra.tsv", "Source\tTarget\r\n( ( ( [MAX 2 ) 9 ) ] )\t9\r\n[MIN 4 [SM 5 6 ] ]\t1\r\n");
        Assert.Equal(new[] { "[MAX 2 9 ]", "[MIN 4 [SM 5 6 ] ]" }, ListOpsFile.Read(lra).Select(e => e.Expression));
        // Nangia and Bowman style: label first; a bare digit line (their loader skips it) and blank lines.
        string nb = File("nb.tsv", "0\t( ( ( ( ( [MIN 1 ) 6 ) 5 ) 0 ) ] )\n7\t7\n\n4\t[MED 3 6 0 6 ]\n");
        Assert.Equal(new[] { "[MIN 1 6 5 0 ]", "[MED 3 6 0 6 ]" }, ListOpsFile.Read(nb).Select(e => e.Expression));
    }

    [Fact]
    public void Format_is_detected_from_content()
    {
        Assert.Equal(ListOpsFileFormat.DccgJson, ListOpsFile.DetectFormat(File("a.txt", "\n  {\"4\": {}}")));
        Assert.Equal(ListOpsFileFormat.Tsv, ListOpsFile.DetectFormat(File("b.json", "3\t[MIN 3 4 ]\n")));
        Assert.Empty(ListOpsFile.Read(File("c.json", "{}")));
        Assert.Equal(ListOpsFileFormat.DccgJson, ListOpsFile.FormatFromExtension("x/test.JSON"));
        Assert.Equal(ListOpsFileFormat.Tsv, ListOpsFile.FormatFromExtension("x/test_d20s.tsv"));
        var empty = Assert.Throws<InvalidDataException>(() => ListOpsFile.Read(File("empty.tsv", " \n")));
        Assert.Contains("empty.tsv", empty.Message);
        Assert.Throws<FileNotFoundException>(() => ListOpsFile.Read(Path.Combine(_dir, "missing.tsv")));
    }

    [Theory]
    [InlineData("3\t[MIN 3 4 ]\n4\t[MAX 1 4 ]\n2\t[MIN 2 [FOO 3 4 ] ]\n", 3, "unknown token '[FOO'")]
    [InlineData("3\t[MIN 3 4 ]\n4\t[MAX 1 [MIN 4 5 ]\n", 2, "never closed")]
    [InlineData("3\t[MIN 3 4 ] ]\n", 1, "follows the end")]
    [InlineData("12\t[MIN 3 4 ]\n", 1, "label 12 is out of range 0-9")]
    [InlineData("-1\t[MIN 3 4 ]\n", 1, "label -1 is out of range 0-9")]
    [InlineData("x\t[MIN 3 4 ]\n", 1, "label 'x' is not an integer")]
    [InlineData("3\t[MIN 3 4 ]\n5\t[MAX 1 4 ]\n", 2, "label 5 disagrees with the value of the expression, which is 4")]
    [InlineData("3\t[MIN 3 4 ]\t1\n", 1, "expected 2 tab-separated fields")]
    public void Malformed_tsv_lines_name_file_line_and_problem(string content, int line, string problem)
    {
        string path = File("bad.tsv", content);
        var e = Assert.Throws<InvalidDataException>(() => ListOpsFile.Read(path));
        Assert.Contains(path, e.Message);
        Assert.Contains($"line {line}:", e.Message);
        Assert.Contains(problem, e.Message);
    }

    [Theory]
    [InlineData("{\"6\": {\"0\": {\"ex\": \"[MED 3 6 0 6 ]\", \"target\": 4},\n \"1\": {\"ex\": \"[MIN 1 5 2 5 ]\", \"target\": 2}}}", 2,
        "example \"1\" of length group \"6\": target 2 disagrees with the value of \"[MIN 1 5 2 5 ]\", which is 1")]
    [InlineData("{\"6\": {\"0\": {\"ex\": \"[MED 3 6 0 6 ]\", \"target\": 14}}}", 1, "target 14 is out of range 0-9")]
    [InlineData("{\"6\": {\"0\": {\"ex\": \"[MED 3 6 0 6 ]\", \"target\": 4, \"adj\": [-1, 0, 0, 0, 0, 1]}}}", 1,
        "adj (parent indices) is 1 at token 5 but the expression gives 0")]
    [InlineData("{\"6\": {\"0\": {\"ex\": \"[MED 3 6 0 6 ]\", \"target\": 4, \"inter\": [4, 3, 6, 0, 6, 0]}}}", 1,
        "inter (sub-expression values) is 0 at token 5 but the expression gives -1")]
    [InlineData("{\"6\": {\"0\": {\"ex\": \"[MED 3 6 0 6 ]\", \"target\": 4, \"inter_mask\": [1, 0, 0]}}}", 1,
        "inter_mask (operator positions) has 3 entries for 6 tokens")]
    [InlineData("{\"7\": {\"0\": {\"ex\": \"[MED 3 6 0 6 ]\", \"target\": 4}}}", 1, "has 6 tokens but is in length group 7")]
    [InlineData("{\n\"6\": {\n\"0\": {\"ex\": \"[MED 3 6 0 6\", \"target\": 4}}}", 3, "never closed")]
    [InlineData("{\"6\": {\"0\": {\"ex\": \"[MED 3 6 0 X ]\", \"target\": 4}}}", 1, "unknown token 'X'")]
    [InlineData("{\"6\": {\"0\": {\"target\": 4}}}", 1, "has no \\\"ex\\\"")]
    [InlineData("{\"6\": {\"0\": {\"ex\": \"[MED 3 6 0 6 ]\", \"target\": 4}, \"0\": {\"ex\": \"[MED 3 6 0 6 ]\", \"target\": 4}}}", 1, "occurs twice")]
    [InlineData("{\"six\": {}}", 1, "length group key \"six\" is not a token count")]
    [InlineData("{\"6\": {\"0\": {\"ex\": \"[MED 3 6 0 6 ]\",\n \"target\": 4}", 2, "malformed JSON")]
    [InlineData("[1, 2]", 1, "must be a JSON object")]
    public void Malformed_json_names_file_line_and_problem(string content, int line, string problem)
    {
        string path = File("bad.json", content);
        var e = Assert.Throws<InvalidDataException>(() => ListOpsJson.Read(path));
        Assert.Contains(path, e.Message);
        Assert.Contains($"line {line},", e.Message);
        Assert.Contains(problem.Replace("\\\"", "\""), e.Message);
    }
}
