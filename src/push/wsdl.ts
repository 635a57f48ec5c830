import { attr } from './acknowledge.js';

// GET /push?wsdl: a document/literal WSDL for HIPMessageServer(action, message) → HIPMessageServerResult
// with SOAP 1.1 and 1.2 bindings, so a platform engineer can generate a client or import it into HIP.

export const WSDL_NAMESPACE = 'urn:hl7-org:v3';

export function writeWsdl(address: string): string {
  const a = attr(address);
  return `<?xml version="1.0" encoding="UTF-8"?>
<wsdl:definitions name="HIPMessageServer" targetNamespace="${WSDL_NAMESPACE}"
  xmlns:wsdl="http://schemas.xmlsoap.org/wsdl/" xmlns:soap="http://schemas.xmlsoap.org/wsdl/soap/"
  xmlns:soap12="http://schemas.xmlsoap.org/wsdl/soap12/" xmlns:xs="http://www.w3.org/2001/XMLSchema"
  xmlns:tns="${WSDL_NAMESPACE}">
  <wsdl:types>
    <xs:schema targetNamespace="${WSDL_NAMESPACE}" elementFormDefault="unqualified">
      <xs:element name="HIPMessageServer">
        <xs:complexType><xs:sequence>
          <xs:element name="action" type="xs:string" minOccurs="0"/>
          <xs:element name="message" type="xs:string" minOccurs="0"/>
        </xs:sequence></xs:complexType>
      </xs:element>
      <xs:element name="HIPMessageServerResponse">
        <xs:complexType><xs:sequence>
          <xs:element name="HIPMessageServerResult" type="xs:string" minOccurs="0"/>
        </xs:sequence></xs:complexType>
      </xs:element>
    </xs:schema>
  </wsdl:types>
  <wsdl:message name="HIPMessageServerRequest"><wsdl:part name="parameters" element="tns:HIPMessageServer"/></wsdl:message>
  <wsdl:message name="HIPMessageServerResponse"><wsdl:part name="parameters" element="tns:HIPMessageServerResponse"/></wsdl:message>
  <wsdl:portType name="HIPMessageServerPortType">
    <wsdl:operation name="HIPMessageServer">
      <wsdl:input message="tns:HIPMessageServerRequest"/>
      <wsdl:output message="tns:HIPMessageServerResponse"/>
    </wsdl:operation>
  </wsdl:portType>
  <wsdl:binding name="HIPMessageServerSoap11" type="tns:HIPMessageServerPortType">
    <soap:binding style="document" transport="http://schemas.xmlsoap.org/soap/http"/>
    <wsdl:operation name="HIPMessageServer">
      <soap:operation soapAction="${WSDL_NAMESPACE}/HIPMessageServer" style="document"/>
      <wsdl:input><soap:body use="literal"/></wsdl:input>
      <wsdl:output><soap:body use="literal"/></wsdl:output>
    </wsdl:operation>
  </wsdl:binding>
  <wsdl:binding name="HIPMessageServerSoap12" type="tns:HIPMessageServerPortType">
    <soap12:binding style="document" transport="http://schemas.xmlsoap.org/soap/http"/>
    <wsdl:operation name="HIPMessageServer">
      <soap12:operation soapAction="${WSDL_NAMESPACE}/HIPMessageServer" style="document"/>
      <wsdl:input><soap12:body use="literal"/></wsdl:input>
      <wsdl:output><soap12:body use="literal"/></wsdl:output>
    </wsdl:operation>
  </wsdl:binding>
  <wsdl:service name="HIPMessageServer">
    <wsdl:port name="HIPMessageServerSoap11" binding="tns:HIPMessageServerSoap11"><soap:address location="${a}"/></wsdl:port>
    <wsdl:port name="HIPMessageServerSoap12" binding="tns:HIPMessageServerSoap12"><soap12:address location="${a}"/></wsdl:port>
  </wsdl:service>
</wsdl:definitions>
`;
}
